//! The tenant token and the cross-tenant capability.

use std::fmt;
use std::panic::Location;
use std::sync::RwLock;

use uuid::Uuid;

/// Proof that the code holding it acts for exactly one tenant.
///
/// A `TenantId` is the only thing that scopes a statement or an object key. It cannot be
/// built from a [`Uuid`], a string, `FromStr`, `Deserialize` or `Default`: it is minted
/// only by the auth layer, by [`TenantId::generate`] for a brand-new tenant, or by an
/// audited [`Admin`] capability for an existing one. Values read back from the database
/// never turn into a `TenantId`: a row's tenant column is filled from the token the
/// statement was built with, after checking that the stored value matches it.
///
/// Tenant ids are not secrets (they appear in object keys), so `TenantId` is `Display`,
/// `Debug` and `Serialize`.
///
/// ```compile_fail
/// // There is no way to forge one from a Uuid:
/// let t = tenantry::TenantId::from(uuid::Uuid::nil());
/// ```
#[derive(Clone, Copy)]
pub struct TenantId {
    id: Uuid,
    /// The canonical text, encoded once when the token is minted: every statement binds
    /// it and checks returned rows against it.
    text: [u8; 36],
}

impl TenantId {
    /// Mints the id of a brand-new tenant (a random version 4 UUID).
    ///
    /// Harmless by construction: no existing data belongs to a fresh random id.
    pub fn generate() -> Self {
        Self::from_trusted(Uuid::new_v4())
    }

    /// The tenant's id as a [`Uuid`]. Going this way is free; coming back is not.
    pub fn as_uuid(&self) -> Uuid {
        self.id
    }

    /// Canonical text form (lower-case, hyphenated), written into `buf`: the form stored in
    /// the tenant column and used in object keys.
    pub fn encode<'b>(&self, buf: &'b mut [u8; 36]) -> &'b str {
        self.id.hyphenated().encode_lower(buf)
    }

    /// The canonical text, as bytes (ASCII by construction).
    pub(crate) fn text(&self) -> &[u8; 36] {
        &self.text
    }

    /// Crate-internal minting; every public path to it is audited or is the auth layer.
    pub(crate) fn from_trusted(id: Uuid) -> Self {
        let mut text = [0u8; 36];
        id.hyphenated().encode_lower(&mut text);
        TenantId { id, text }
    }
}

// Equality, order and hash are the id's: the text is a function of it.
impl PartialEq for TenantId {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for TenantId {}

impl std::hash::Hash for TenantId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PartialOrd for TenantId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TenantId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.id.hyphenated())
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.id.hyphenated(), f)
    }
}

impl serde::Serialize for TenantId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 36];
        s.serialize_str(self.encode(&mut buf))
    }
}

/// The tenant of a scoped statement: its token, whose canonical text slot 0 binds and
/// every returned row's tenant column is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tenant {
    pub(crate) id: TenantId,
}

impl Tenant {
    #[inline]
    pub(crate) fn new(id: &TenantId) -> Self {
        Tenant { id: *id }
    }

    /// The canonical text, as bytes (ASCII by construction).
    pub(crate) fn text(&self) -> &[u8; 36] {
        self.id.text()
    }
}

/// A capability for work that crosses tenants: admin jobs, queue workers, migrations, tests.
///
/// It is created with a `&'static str` reason, so every use is greppable, and each use
/// (minting a tenant, running raw SQL, reading a global table) reaches the [audit hook].
/// There is one capability value per use site, never a global "unscoped" switch.
///
/// ```
/// use tenantry::Admin;
/// let admin = Admin::new("export worker claims the next job");
/// let tenant = admin.mint_tenant(uuid::Uuid::new_v4());
/// assert_eq!(admin.reason(), "export worker claims the next job");
/// # let _ = tenant;
/// ```
///
/// [audit hook]: set_audit_hook
#[derive(Debug)]
pub struct Admin {
    tag: AuditTag,
}

/// Who to blame for an unscoped statement: copied from the [`Admin`] that built it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditTag {
    reason: &'static str,
    location: &'static Location<'static>,
    /// Set by an operation that reports its own, coarser event instead (the job claim:
    /// one event per claim, none per idle poll).
    quiet: bool,
}

impl AuditTag {
    /// tenantry's own work that no [`Admin`] asked for (an empty migration list): nothing
    /// to audit.
    #[track_caller]
    pub(crate) fn library() -> Self {
        AuditTag { reason: "tenantry", location: Location::caller(), quiet: true }
    }

    /// The same tag, firing nothing: the caller audits the operation itself.
    pub(crate) fn quiet(self) -> Self {
        AuditTag { quiet: true, ..self }
    }

    pub(crate) fn fire(self, action: AuditAction<'_>) {
        if self.quiet {
            return;
        }
        let hook = AUDIT_HOOK.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(hook) = hook.as_ref() {
            hook(&AuditEvent { reason: self.reason, location: self.location, action });
        }
    }
}

impl Admin {
    /// Creates the capability. The reason is a string literal on purpose: it names the job
    /// in code review, in `grep` and in audit logs.
    #[track_caller]
    pub fn new(reason: &'static str) -> Self {
        let tag = AuditTag { reason, location: Location::caller(), quiet: false };
        tag.fire(AuditAction::Created);
        Admin { tag }
    }

    /// The same capability, for work this call moves to another thread (tokio's blocking
    /// pool): same reason and location, nothing audited anew. Crate-only: users cannot
    /// copy an `Admin`.
    #[cfg(feature = "tokio")]
    pub(crate) fn for_another_thread(&self) -> Admin {
        Admin { tag: self.tag }
    }

    /// Why this capability exists.
    pub fn reason(&self) -> &'static str {
        self.tag.reason
    }

    /// Where in the source it was created.
    pub fn location(&self) -> &'static Location<'static> {
        self.tag.location
    }

    /// Acts for an existing tenant, e.g. one whose id was read from a job row. Audited.
    pub fn mint_tenant(&self, id: Uuid) -> TenantId {
        self.tag.fire(AuditAction::MintTenant { tenant: id });
        TenantId::from_trusted(id)
    }

    pub(crate) fn tag(&self) -> AuditTag {
        self.tag
    }
}

/// One use of an [`Admin`] capability, as passed to the [audit hook](set_audit_hook).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AuditEvent<'a> {
    /// The capability's reason, as given to [`Admin::new`].
    pub reason: &'static str,
    /// Where the capability was created.
    pub location: &'static Location<'static>,
    /// What it was used for.
    pub action: AuditAction<'a>,
}

/// What an [`Admin`] capability was used for.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum AuditAction<'a> {
    /// The capability was created.
    Created,
    /// A [`TenantId`] was minted for an existing tenant: by [`Admin::mint_tenant`], or from
    /// the tenant column of a row read by a cross-tenant statement (one event per row).
    MintTenant {
        /// The tenant acted for.
        tenant: Uuid,
    },
    /// A statement ran without a tenant scope: raw SQL, a global table, all tenants' rows,
    /// or a registered migration on a tenant's database.
    Unscoped {
        /// The SQL text (values are bound parameters and do not appear in it).
        sql: &'a str,
    },
    /// A library operation that works across tenants: building the auth service (which
    /// can sign in any account), sweeping expired sessions and anonymous users, migrating
    /// every tenant's database.
    Operation {
        /// What the operation is.
        name: &'static str,
    },
    /// A command of the operator command line (`tenantry::cli`, feature `cli`) began, with the
    /// reason the operator gave.
    Command {
        /// The command line after the program name, as given (`tenant delete 5f0c..`).
        command: &'a str,
        /// The operator's reason (`--reason`).
        reason: &'a str,
    },
    /// An email address was vouched for as verified (an OAuth provider's callback, say):
    /// the proof that logs in to that address's account.
    VerifiedEmail {
        /// The normalised address.
        email: &'a str,
    },
}

type Hook = Box<dyn Fn(&AuditEvent<'_>) + Send + Sync>;
static AUDIT_HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Installs the process-wide audit hook, replacing any earlier one.
///
/// The hook runs synchronously on every use of an [`Admin`] capability; keep it fast
/// (log, count, or send to a channel).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// static USES: AtomicUsize = AtomicUsize::new(0);
/// tenantry::set_audit_hook(|event| {
///     if event.reason == "doc example" { USES.fetch_add(1, Ordering::SeqCst); }
/// });
/// let _ = tenantry::Admin::new("doc example");
/// assert_eq!(USES.load(Ordering::SeqCst), 1);
/// ```
///
/// Replacing the hook silences the old one, so the old hook hears of it first: an
/// [`AuditAction::Operation`] named "replace the audit hook", with the caller's location
/// and the reason `"set_audit_hook"`.
#[track_caller]
pub fn set_audit_hook(hook: impl Fn(&AuditEvent<'_>) + Send + Sync + 'static) {
    let location = Location::caller();
    let old = {
        let mut slot = AUDIT_HOOK.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.replace(Box::new(hook))
    };
    // Called outside the lock: a hook that itself creates an `Admin` must not deadlock.
    if let Some(old) = old {
        old(&AuditEvent {
            reason: "set_audit_hook",
            location,
            action: AuditAction::Operation { name: "replace the audit hook" },
        });
    }
}

/// Accepts only the canonical stored form, so one id has exactly one spelling.
pub(crate) fn parse_canonical_uuid(text: &[u8]) -> Option<Uuid> {
    // 36 bytes parse only in the hyphenated form; once parsed, every other byte is a hex
    // digit, and the form is canonical when none is upper case.
    let text: &[u8; 36] = text.try_into().ok()?;
    let uuid = Uuid::try_parse_ascii(text).ok()?;
    (!has_upper_hex(text)).then_some(uuid)
}

/// Whether any byte of a parsed hyphenated UUID is an upper-case hex digit, eight bytes at
/// a time: among digits, hyphens and hex letters, only `A`-`F` have bits `0x60` equal to
/// `0x40`, so those bytes become zero, and a zero byte is found with the usual bit trick.
#[inline]
fn has_upper_hex(text: &[u8; 36]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| {
        let y = (x & (0x60 * LOW)) ^ (0x40 * LOW);
        y.wrapping_sub(LOW) & !y & HIGH != 0
    };
    let word = |i: usize| {
        u64::from_le_bytes([
            text[i],
            text[i + 1],
            text[i + 2],
            text[i + 3],
            text[i + 4],
            text[i + 5],
            text[i + 6],
            text[i + 7],
        ])
    };
    // The last word overlaps the fourth by four bytes; checking a byte twice is harmless.
    zero_byte(word(0)) || zero_byte(word(8)) || zero_byte(word(16)) || zero_byte(word(24)) || zero_byte(word(28))
}

#[cfg(test)]
mod tests {
    use super::parse_canonical_uuid;
    use uuid::Uuid;

    #[test]
    fn only_the_canonical_form_parses_and_it_parses_exactly() {
        for n in [0u128, 1, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let u = Uuid::from_u128(n);
            assert_eq!(parse_canonical_uuid(u.hyphenated().to_string().as_bytes()), Some(u));
        }
        for _ in 0..1000 {
            let u = Uuid::new_v4();
            assert_eq!(parse_canonical_uuid(u.to_string().as_bytes()), Some(u));
        }
        let u = Uuid::new_v4();
        let not_canonical = [
            u.hyphenated().to_string().to_uppercase(),
            u.simple().to_string(),
            u.braced().to_string(),
            u.urn().to_string(),
            format!("{} ", u.hyphenated()),
            u.hyphenated().to_string().replacen('-', "_", 1),
            "0123456789ab-cdef-0123-4567-89abcdef012".to_owned(),
            "g0000000-0000-0000-0000-000000000000".to_owned(),
            "0000000-00000-0000-0000-000000000000".to_owned(),
            String::new(),
        ];
        for text in not_canonical {
            assert_eq!(parse_canonical_uuid(text.as_bytes()), None, "{text:?}");
        }
        // One upper-case digit anywhere is enough to refuse it.
        let all_letters = Uuid::from_u128(0xabcd_efab_cdef_abcd_efab_cdef_abcd_efab).hyphenated().to_string();
        for i in (0..36).filter(|i| ![8, 13, 18, 23].contains(i)) {
            let mut mixed = all_letters.clone().into_bytes();
            mixed[i].make_ascii_uppercase();
            assert_eq!(parse_canonical_uuid(&mixed), None, "upper case at {i}");
        }
    }
}
