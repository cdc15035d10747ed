//! [`OrderGenerator`]: realistic orders in dropline's own API format (`POST /api/v1/orders`),
//! the same for the same seed, with a chosen share of orders a seller has to deal with:
//! addresses that fail validation and payments not captured.

mod addresses;

pub use addresses::AddressFault;

use addresses::{COUNTRIES, Country, address_json};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A variant of the store's catalogue the customers buy: its SKU, what the storefront calls
/// it and its price as a decimal string in the order currency (`"49.99"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueItem {
    pub sku: String,
    pub title: String,
    pub variant_title: Option<String>,
    pub unit_price: String,
}

impl CatalogueItem {
    /// An item without a variant title.
    pub fn new(sku: impl Into<String>, title: impl Into<String>, unit_price: impl Into<String>) -> Self {
        Self {
            sku: sku.into(),
            title: title.into(),
            variant_title: None,
            unit_price: unit_price.into(),
        }
    }

    /// The same item with a variant title (`"Black"`).
    pub fn with_variant_title(mut self, variant_title: impl Into<String>) -> Self {
        self.variant_title = Some(variant_title.into());
        self
    }
}

/// One generated order: the JSON body and what the generator made of it, so a test knows
/// what dropline should conclude without reading the body.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedOrder {
    /// The body's `external_id`.
    pub external_id: String,
    /// The `POST /api/v1/orders` body.
    pub body: Value,
    /// How the shipping address was broken (`None`: it validates without errors).
    pub address_fault: Option<AddressFault>,
    /// Whether `payment` is `paid` or `authorized` (else it is `pending`).
    pub paid: bool,
}

impl GeneratedOrder {
    /// Whether dropline should hold the order (`on_hold`) rather than leave it for review.
    pub fn should_be_held(&self) -> bool {
        self.address_fault.is_some() || !self.paid
    }
}

/// Makes orders of one store. The same seed and settings give the same orders, body for body.
///
/// The default is a USD store, every address valid, every order paid, external ids
/// `sim-000001`, `sim-000002`, ... placed from 2026-03-01 08:00 UTC on, a few minutes apart.
#[derive(Clone, Debug)]
pub struct OrderGenerator {
    rng: StdRng,
    catalogue: Vec<CatalogueItem>,
    currency: String,
    shipping_charges: Vec<String>,
    store_id: Option<String>,
    prefix: String,
    invalid_address_share: f64,
    unpaid_share: f64,
    placed_at: OffsetDateTime,
    sequence: u64,
}

impl OrderGenerator {
    /// A generator of orders for `catalogue` (at least one item; an empty catalogue makes
    /// orders without lines, which dropline refuses).
    pub fn new(seed: u64, catalogue: Vec<CatalogueItem>) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            catalogue,
            currency: "USD".to_string(),
            shipping_charges: ["0.00", "4.99", "7.50", "12.00"].map(String::from).to_vec(),
            store_id: None,
            prefix: "sim".to_string(),
            invalid_address_share: 0.0,
            unpaid_share: 0.0,
            placed_at: datetime!(2026-03-01 08:00 UTC),
            sequence: 0,
        }
    }

    /// The order currency (the store's); the catalogue prices must be in it. A currency
    /// without two decimals also needs [`Self::shipping_charges`].
    pub fn currency(mut self, code: impl Into<String>) -> Self {
        self.currency = code.into();
        self
    }

    /// The shipping amounts customers are charged, one drawn per order (decimal strings).
    pub fn shipping_charges(mut self, amounts: &[&str]) -> Self {
        self.shipping_charges = amounts.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Puts `store_id` in every body (needed with the operator's token; a store's own token
    /// may leave it out).
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }

    /// External ids are `<prefix>-000001`, ...: give each generator of one store its own.
    pub fn external_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The share of orders (0 to 1) whose shipping address fails validation.
    pub fn invalid_addresses(mut self, share: f64) -> Self {
        self.invalid_address_share = share.clamp(0.0, 1.0);
        self
    }

    /// The share of orders (0 to 1) whose payment is still `pending`.
    pub fn unpaid(mut self, share: f64) -> Self {
        self.unpaid_share = share.clamp(0.0, 1.0);
        self
    }

    /// When the first order is placed; the next ones follow a few minutes apart.
    pub fn placed_from(mut self, at: OffsetDateTime) -> Self {
        self.placed_at = at;
        self
    }

    /// `count` orders with EXACTLY the configured shares (rounded) of invalid addresses and
    /// unpaid orders, at random places in the batch and independent of each other (an
    /// order may be both).
    pub fn orders(&mut self, count: usize) -> Vec<GeneratedOrder> {
        let invalid = self.pick(count, self.invalid_address_share);
        let unpaid = self.pick(count, self.unpaid_share);
        (0..count)
            .map(|index| {
                let fault = invalid[index].then(|| self.draw_fault());
                self.make_order(fault, !unpaid[index])
            })
            .collect()
    }

    /// One order, invalid or unpaid each with the configured probability: for open-ended
    /// streams, where [`Self::orders`] keeps the shares exact.
    pub fn next_order(&mut self) -> GeneratedOrder {
        let fault = self
            .rng
            .random_bool(self.invalid_address_share)
            .then(|| self.draw_fault());
        let paid = !self.rng.random_bool(self.unpaid_share);
        self.make_order(fault, paid)
    }

    /// `round(count × share)` positions out of `count`, chosen at random.
    fn pick(&mut self, count: usize, share: f64) -> Vec<bool> {
        let amount = ((count as f64) * share).round() as usize;
        let mut picked = vec![false; count];
        for index in rand::seq::index::sample(&mut self.rng, count, amount.min(count)) {
            picked[index] = true;
        }
        picked
    }

    fn draw_fault(&mut self) -> AddressFault {
        AddressFault::ALL[self.rng.random_range(0..AddressFault::ALL.len())]
    }

    fn make_order(&mut self, fault: Option<AddressFault>, paid: bool) -> GeneratedOrder {
        self.sequence += 1;
        let external_id = format!("{}-{:06}", self.prefix, self.sequence);
        let country = self.draw_country(fault);
        let place = &country.places[self.rng.random_range(0..country.places.len())];
        let name = country.names[self.rng.random_range(0..country.names.len())];
        // One order in ten goes to a workplace.
        let company = self.rng.random_bool(0.1).then(|| format!("{} & Partners", name.1));
        let address = address_json(country, place, name, company.as_deref(), fault);
        let full_name = format!("{} {}", name.0, name.1);
        let email = format!(
            "{}.{}{}@example.com",
            email_part(name.0),
            email_part(name.1),
            self.sequence
        );
        // Storefronts often leave the customer's phone out when the address has one.
        let customer_phone = self.rng.random_bool(0.6).then_some(place.phone);

        let line_count = match self.rng.random_range(0..10) {
            0..6 => 1,
            6..9 => 2,
            _ => 3,
        }
        .min(self.catalogue.len());
        let items: Vec<&CatalogueItem> = self.catalogue.choose_multiple(&mut self.rng, line_count).collect();
        let lines: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let quantity = match self.rng.random_range(0..10) {
                    0..7 => 1,
                    7..9 => 2,
                    _ => 3,
                };
                json!({
                    "external_id": format!("{external_id}-{}", index + 1),
                    "sku": item.sku,
                    "title": item.title,
                    "variant_title": item.variant_title,
                    "quantity": quantity,
                    "unit_price": money(&item.unit_price, &self.currency),
                    "requires_shipping": true,
                })
            })
            .collect();
        let shipping = self
            .shipping_charges
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_else(|| "0.00".to_string());
        let payment = match (paid, self.rng.random_bool(0.15)) {
            (false, _) => "pending",
            (true, true) => "authorized",
            (true, false) => "paid",
        };
        self.placed_at += Duration::seconds(self.rng.random_range(30..900));
        // Every format of a well-formed UTC time is printable; the fallback is never used.
        let placed_at = self.placed_at.format(&Rfc3339).unwrap_or_default();

        let mut body = json!({
            "external_id": external_id,
            "number": format!("#{}", 1000 + self.sequence),
            "customer": { "name": full_name, "email": email, "phone": customer_phone },
            "shipping_address": address,
            "lines": lines,
            "currency": self.currency,
            "shipping_total": money(&shipping, &self.currency),
            "payment": payment,
            "placed_at": placed_at,
        });
        if let Some(store_id) = &self.store_id {
            body["store_id"] = json!(store_id);
        }
        GeneratedOrder {
            external_id,
            body,
            address_fault: fault,
            paid,
        }
    }

    /// A country the fault can be made in (any country when there is no fault).
    fn draw_country(&mut self, fault: Option<AddressFault>) -> &'static Country {
        let eligible: Vec<&'static Country> = COUNTRIES
            .iter()
            .filter(|country| fault.is_none_or(|fault| fault.applies_to(country)))
            .collect();
        eligible[self.rng.random_range(0..eligible.len())]
    }
}

/// `{"amount": "12.50", "currency": "USD"}`.
fn money(amount: &str, currency: &str) -> Value {
    json!({ "amount": amount, "currency": currency })
}

/// The part of an email address made of a name: lower case ASCII, accents dropped.
fn email_part(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'à' | 'á' | 'â' | 'ã' | 'ä' => Some('a'),
            'ç' => Some('c'),
            'è' | 'é' | 'ê' | 'ë' => Some('e'),
            'ì' | 'í' | 'î' | 'ï' => Some('i'),
            'ñ' => Some('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => Some('o'),
            'ù' | 'ú' | 'û' | 'ü' => Some('u'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::address::Address;
    use dropline_domain::validation::{has_errors, validate_address};

    fn catalogue() -> Vec<CatalogueItem> {
        vec![
            CatalogueItem::new("EARBUDS-BLK", "Wireless earbuds", "49.99").with_variant_title("Black"),
            CatalogueItem::new("EARBUDS-WHT", "Wireless earbuds", "49.99").with_variant_title("White"),
            CatalogueItem::new("CASE-01", "Charging case", "19.50"),
            CatalogueItem::new("CABLE-USBC", "USB-C cable", "7.00"),
        ]
    }

    fn address_of(body: &Value) -> Address {
        let a = &body["shipping_address"];
        let text = |field: &str| a[field].as_str().map(str::to_string);
        Address {
            first_name: text("first_name").unwrap_or_default(),
            last_name: text("last_name").unwrap_or_default(),
            company: text("company"),
            address1: text("address1").unwrap_or_default(),
            address2: text("address2"),
            city: text("city").unwrap_or_default(),
            region: text("region"),
            postal_code: text("postal_code").unwrap_or_default(),
            country_code: text("country_code").unwrap_or_default(),
            phone: text("phone"),
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_orders() {
        let make = |seed| {
            OrderGenerator::new(seed, catalogue())
                .invalid_addresses(0.2)
                .unpaid(0.1)
                .orders(200)
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7), make(8));
        let mut stream = OrderGenerator::new(7, catalogue()).invalid_addresses(0.3);
        let mut again = OrderGenerator::new(7, catalogue()).invalid_addresses(0.3);
        for _ in 0..50 {
            assert_eq!(stream.next_order(), again.next_order());
        }
    }

    #[test]
    fn batches_have_exactly_the_requested_shares() {
        for (count, invalid, unpaid) in [(100, 0.1, 0.1), (1000, 0.25, 0.05), (7, 0.5, 1.0), (50, 0.0, 0.0)] {
            let orders = OrderGenerator::new(1, catalogue())
                .invalid_addresses(invalid)
                .unpaid(unpaid)
                .orders(count);
            let invalid_found = orders.iter().filter(|o| o.address_fault.is_some()).count();
            let unpaid_found = orders.iter().filter(|o| !o.paid).count();
            assert_eq!(
                invalid_found,
                ((count as f64) * invalid).round() as usize,
                "{count} {invalid}"
            );
            assert_eq!(
                unpaid_found,
                ((count as f64) * unpaid).round() as usize,
                "{count} {unpaid}"
            );
            for order in &orders {
                let payment = order.body["payment"].as_str().unwrap_or_default();
                assert_eq!(payment == "pending", !order.paid, "{}", order.body);
            }
        }
    }

    #[test]
    fn streams_have_about_the_requested_shares() {
        let mut generator = OrderGenerator::new(3, catalogue()).invalid_addresses(0.2).unpaid(0.1);
        let orders: Vec<GeneratedOrder> = (0..5000).map(|_| generator.next_order()).collect();
        let invalid = orders.iter().filter(|o| o.address_fault.is_some()).count();
        let unpaid = orders.iter().filter(|o| !o.paid).count();
        assert!((900..1100).contains(&invalid), "{invalid}");
        assert!((420..580).contains(&unpaid), "{unpaid}");
    }

    #[test]
    fn every_valid_address_passes_validation_without_findings() {
        for country in COUNTRIES {
            for place in country.places {
                for &name in country.names {
                    let body = json!({ "shipping_address": address_json(country, place, name, None, None) });
                    let findings = validate_address(&address_of(&body));
                    assert!(findings.is_empty(), "{} {}: {findings:?}", country.code, place.address1);
                }
            }
        }
        let orders = OrderGenerator::new(11, catalogue()).orders(500);
        let countries: std::collections::BTreeSet<&str> = orders
            .iter()
            .map(|o| o.body["shipping_address"]["country_code"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(countries.len(), COUNTRIES.len(), "{countries:?}");
        for order in &orders {
            let findings = validate_address(&address_of(&order.body));
            assert!(
                !has_errors(&findings),
                "{}: {findings:?}",
                order.body["shipping_address"]
            );
        }
    }

    #[test]
    fn every_address_fault_is_an_error_for_validation() {
        for country in COUNTRIES {
            for place in country.places {
                for fault in AddressFault::ALL.into_iter().filter(|f| f.applies_to(country)) {
                    let body = json!({
                        "shipping_address": address_json(country, place, country.names[0], None, Some(fault)),
                    });
                    let findings = validate_address(&address_of(&body));
                    assert!(has_errors(&findings), "{} {fault:?}: {findings:?}", country.code);
                }
            }
        }
        let orders = OrderGenerator::new(5, catalogue()).invalid_addresses(1.0).orders(300);
        for order in &orders {
            assert!(
                has_errors(&validate_address(&address_of(&order.body))),
                "{}",
                order.body
            );
        }
        let faults: std::collections::BTreeSet<String> =
            orders.iter().map(|o| format!("{:?}", o.address_fault)).collect();
        assert_eq!(faults.len(), AddressFault::ALL.len(), "{faults:?}");
    }

    #[test]
    fn bodies_have_the_api_shape() {
        let mut generator = OrderGenerator::new(9, catalogue())
            .store_id("store-1")
            .external_id_prefix("shop")
            .unpaid(1.0);
        let first = generator.next_order();
        let second = generator.next_order();
        let body = &first.body;
        assert_eq!(first.external_id, "shop-000001");
        assert_eq!(body["external_id"], "shop-000001");
        assert_eq!(body["number"], "#1001");
        assert_eq!(body["store_id"], "store-1");
        assert_eq!(body["payment"], "pending");
        assert_eq!(body["currency"], "USD");
        assert_eq!(body["shipping_total"]["currency"], "USD");
        assert!(body["shipping_total"]["amount"].is_string());
        let lines = body["lines"].as_array().cloned().unwrap_or_default();
        assert!((1..=3).contains(&lines.len()), "{body}");
        for line in &lines {
            assert!(catalogue().iter().any(|item| item.sku == line["sku"]), "{line}");
            assert!(line["quantity"].as_u64().is_some_and(|q| q >= 1));
            assert_eq!(line["unit_price"]["currency"], "USD");
        }
        let email = body["customer"]["email"].as_str().unwrap_or_default();
        assert!(email.is_ascii() && email.ends_with("1@example.com"), "{email}");
        let placed = |order: &GeneratedOrder| {
            OffsetDateTime::parse(order.body["placed_at"].as_str().unwrap_or_default(), &Rfc3339).ok()
        };
        assert!(placed(&first).is_some_and(|first_at| placed(&second).is_some_and(|at| at > first_at)));
        assert_eq!(email_part("Chloé"), "chloe");
        assert_eq!(email_part("de Jong"), "dejong");
    }
}
