//! How far a long operation has got, for a callback to draw or log.

/// How far a long operation has got: passed to the callback of
/// [`Layout::migrate_fleet`](crate::Layout::migrate_fleet),
/// [`Layout::audit`](crate::Layout::audit) and the operator command line, once per item
/// done. The command line draws it as a progress bar; an application can log it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// What is being done ("migrate tenant databases").
    pub task: &'a str,
    /// Items done so far.
    pub done: usize,
    /// Items in all.
    pub total: usize,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(task: &'a str, done: usize, total: usize) -> Self {
        Progress { task, done, total }
    }
}
