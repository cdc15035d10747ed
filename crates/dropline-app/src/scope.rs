//! Who is asking: the operator sees every store, a store's token sees only that store.

use dropline_domain::ids::StoreId;
use dropline_domain::timeline::Actor;

/// The reach of a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The marketplace operator (admin token, CLI): every store.
    Operator,
    /// One store's API token: that store only.
    Store(StoreId),
}

impl Scope {
    /// Whether the caller may see and change data of `store_id`.
    pub fn allows(&self, store_id: StoreId) -> bool {
        match self {
            Self::Operator => true,
            Self::Store(own) => *own == store_id,
        }
    }

    /// The store filter a listing must apply: the caller's own store, or the requested one.
    /// `None` from an operator means every store.
    pub fn store_filter(&self, requested: Option<StoreId>) -> Option<StoreId> {
        match self {
            Self::Operator => requested,
            Self::Store(own) => Some(*own),
        }
    }

    /// The timeline actor for changes made by this caller.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Operator => Actor::Operator,
            Self::Store(id) => Actor::Seller(id.to_string()),
        }
    }
}
