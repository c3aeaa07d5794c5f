// Bypass attempted (red-team finding 6): implement tenantry's statement traits for a type
// of one's own, to hand the executor something tenantry did not build, or to make a
// column of an absent table acceptable in a filter. All of them are sealed.

use tenantry::source::{End, InSource, Tables};
use tenantry::{Execute, Fetch, Table, TenantId};
use uuid::Uuid;

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
}

pub struct Mine;

impl Execute for Mine {
    fn __plan(&self) -> tenantry::__private::Plan<'_> {
        unimplemented!()
    }
}

impl Fetch for Mine {
    type Row = ();
    fn __plan(&self) -> tenantry::__private::Plan<'_> {
        unimplemented!()
    }
    fn __decode<R: tenantry::__private::RowSource + ?Sized>(&self, _: &R) -> tenantry::Result<()> {
        Ok(())
    }
}

impl InSource<Tables<Project, End>, ()> for Mine {}

fn main() {}
