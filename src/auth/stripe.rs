//! The link between a user and their Stripe customer.

use rusqlite::{OptionalExtension as _, params};

use crate::error::{Error, Result};
use crate::tenant::{Admin, TenantId};

use super::{Auth, User, parse_user_id};

impl Auth {
    /// Links a Stripe customer to the user, once. Retrying with the same customer id is a
    /// no-op; a different id for the same user gives [`Error::StripeAlreadyLinked`], and a
    /// customer already linked to another user [`Error::StripeCustomerTaken`].
    pub fn link_stripe_customer(&self, tenant: &TenantId, customer_id: &str) -> Result<()> {
        if customer_id.is_empty() || customer_id.len() > 255 || customer_id.chars().any(char::is_control) {
            return Err(Error::InvalidStripeCustomer);
        }
        self.inner.db.write(|conn| {
            let changed = conn
                .execute(
                    "UPDATE users SET stripe_customer_id = ?1 WHERE id = ?2 AND (stripe_customer_id IS NULL OR stripe_customer_id = ?1)",
                    params![customer_id, tenant.to_string()],
                )
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => Error::StripeCustomerTaken,
                    _ => Error::from(e),
                })?;
            if changed == 1 {
                return Ok(());
            }
            match self.load_user(conn, &tenant.to_string())? {
                Some(_) => Err(Error::StripeAlreadyLinked),
                None => Err(Error::NotFound),
            }
        })
    }

    /// The user linked to a Stripe customer, for webhooks; minting their tenant is a
    /// cross-tenant act, so it takes an [`Admin`] and is audited.
    pub fn user_by_stripe_customer(&self, admin: &Admin, customer_id: &str) -> Result<Option<(TenantId, User)>> {
        let found: Option<(String, User)> = self.inner.db.with_conn(|conn| {
            Ok(conn
                .query_row(
                    "SELECT id, email, stripe_customer_id, created_at, last_seen_at FROM users WHERE stripe_customer_id = ?1",
                    [customer_id],
                    |r| {
                        let user =
                            User { email: r.get(1)?, stripe_customer_id: r.get(2)?, created_at: r.get(3)?, last_seen_at: r.get(4)? };
                        Ok((r.get(0)?, user))
                    },
                )
                .optional()?)
        })?;
        match found {
            None => Ok(None),
            Some((id, user)) => {
                let uuid = parse_user_id(&id)?.as_uuid();
                Ok(Some((admin.mint_tenant(uuid), user)))
            }
        }
    }
}
