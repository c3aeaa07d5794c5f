//! Renderings kept per shape: per-table slots for the by-key shapes, and a bounded map
//! per statement kind and dialect for the rest.

use std::sync::{Arc, LazyLock, RwLock};

use rustc_hash::FxHashMap;

use super::{
    CmpOp, ColRef, DeleteShape, Dialect, InsertShape, Node, Rendered, SelectShape, Shape, Slot, TableRef, UpdateShape,
};
use crate::error::Result;

/// A rendering from a per-table slot or from the shape cache.
pub(crate) enum RenderedRef {
    Static(&'static Rendered),
    Shared(Arc<Rendered>),
}

impl std::ops::Deref for RenderedRef {
    type Target = Rendered;
    fn deref(&self) -> &Rendered {
        match self {
            RenderedRef::Static(r) => r,
            RenderedRef::Shared(r) => r,
        }
    }
}

/// `tenant = ? AND primary_key = ?` on `table`, with the key in slot `key`: exactly the
/// condition `Table::get` and `Table::delete_by_key` build (slot 1), or an update of one
/// column by key (slot 2), and nothing else.
pub(super) fn is_by_key(scoped: bool, table: TableRef, cond: Option<&Node>, key: Slot) -> bool {
    let pk = ColRef { table, index: table.0.primary_key as u16 };
    scoped
        && table.0.tenant.is_some()
        && table.1 == 0
        && matches!(cond, Some(Node::Cmp(col, CmpOp::Eq, slot)) if *slot == key && *col == pk)
}

/// Shapes beyond this many are rendered each time rather than cached (IN lists of many
/// lengths, for instance), so the cache cannot grow without bound.
const CACHE_LIMIT: usize = 4096;

type ShapeMap<K> = LazyLock<RwLock<FxHashMap<K, Arc<Rendered>>>>;

pub(crate) struct ShapeCache<K> {
    /// One map per dialect.
    maps: [ShapeMap<K>; 2],
}

impl<K: Shape> ShapeCache<K> {
    pub(crate) const fn new() -> Self {
        ShapeCache {
            maps: [
                LazyLock::new(|| RwLock::new(FxHashMap::default())),
                LazyLock::new(|| RwLock::new(FxHashMap::default())),
            ],
        }
    }

    pub(super) fn get_or_render(&self, shape: &K, dialect: Dialect) -> Result<Arc<Rendered>> {
        let map = &self.maps[dialect.index()];
        if let Some(hit) = map.read().unwrap_or_else(|p| p.into_inner()).get(shape) {
            return Ok(Arc::clone(hit));
        }
        let rendered = Arc::new(shape.render(dialect)?);
        let mut map = map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() < CACHE_LIMIT {
            map.insert(shape.clone(), Arc::clone(&rendered));
        }
        Ok(rendered)
    }
}

pub(super) static SELECTS: ShapeCache<SelectShape> = ShapeCache::new();
pub(super) static INSERTS: ShapeCache<InsertShape> = ShapeCache::new();
pub(super) static UPDATES: ShapeCache<UpdateShape> = ShapeCache::new();
pub(super) static DELETES: ShapeCache<DeleteShape> = ShapeCache::new();
