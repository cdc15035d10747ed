//! Identifier newtypes. Every id is a UUIDv7, so ids sort by creation time and keyset
//! pagination can use them directly; users only ever see them as opaque strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(/// A seller's store (one storefront, or one vendor of a marketplace).
    StoreId);
id_type!(/// A supplier that ships goods for a store.
    SupplierId);
id_type!(/// A product of a store's catalogue.
    ProductId);
id_type!(/// A variant of a product: what a line item buys.
    VariantId);
id_type!(/// An offer: one store variant mapped to one supplier variant.
    OfferId);
id_type!(/// A customer order.
    OrderId);
id_type!(/// One line of an order.
    LineItemId);
id_type!(/// The purchase placed with one supplier for part of an order.
    SupplierOrderId);
id_type!(/// A parcel.
    ShipmentId);
id_type!(/// One entry of an order's timeline.
    TimelineEventId);
id_type!(/// A durable background job.
    JobId);
id_type!(/// A message in the outbox (customer notice, later email or webhook).
    MessageId);
id_type!(/// A person who signs in to the dashboard.
    UserId);
id_type!(/// A return (RMA) of some of an order's units.
    ReturnId);
id_type!(/// Money given back to the customer.
    RefundId);
id_type!(/// A payment dispute (chargeback).
    DisputeId);
id_type!(/// A payment of a vendor's available earnings by the marketplace operator.
    PayoutId);
id_type!(/// A claim to a supplier for the cost of returned (or damaged) units.
    ClaimId);
id_type!(/// A new selling price of a variant, applied or waiting for the seller.
    PriceChangeId);
id_type!(/// A supplier's stock or price reading that was not applied.
    SyncProblemId);
