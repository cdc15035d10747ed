//! `dropline demo`: a sample store with suppliers, a catalogue and a few dozen orders moved to
//! every order state through the app's use cases (never a raw write), then the API.
//!
//! The demo keeps its own data directory, `<data-dir>/demo`, and starts its database afresh
//! at every run, so it can run any number of times; the installation's own
//! `<data-dir>/dropline.db` is never touched. With a PostgreSQL URL it seeds a new store
//! each run instead (nothing is deleted there).

use crate::config::Settings;
use crate::database::{Database, SQLITE_FILE};
use crate::output;
use crate::serve;
use anyhow::Context;
use clap::Args;
use dropline_app::service::NewVariant;
use dropline_app::{App, AppError, NewOffer, NewProduct, NewStore, NewSupplier, ParcelAction, Scope};
use dropline_domain::address::{Address, Customer};
use dropline_domain::catalog::{
    AutoAcceptRules, OfferPriority, Platform, ShippingMethod, StoreSettings, SupplierKind, Variant,
};
use dropline_domain::ids::{OrderId, StoreId, SupplierId, VariantId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::{OrderState, PaymentState};
use dropline_domain::timeline::Actor;
use dropline_worker::{Worker, WorkerConfig};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

/// Sub-folder of the data directory that the demo owns.
pub const DEMO_DIR: &str = "demo";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on [default: 127.0.0.1:8080]
    #[arg(long, env = "DROPLINE_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// Seed and print, but do not serve
    #[arg(long)]
    no_serve: bool,
}

pub async fn run(settings: &Settings, args: DemoArgs, json: bool) -> anyhow::Result<ExitCode> {
    let demo_dir = settings.data_dir.join(DEMO_DIR);
    let database = match Database::from_settings(settings)? {
        Database::Postgres { url } => Database::Postgres { url },
        Database::Sqlite { .. } => {
            reset_sqlite(&demo_dir)?;
            Database::Sqlite {
                path: demo_dir.join(SQLITE_FILE),
            }
        }
    };
    let backend = database.open().await?;
    let app = dropline_connect::connected(App::new(backend));
    let admin = serve::admin_token(&demo_dir)?;

    let seeded = seed(&app).await.context("while seeding the demo")?;
    let counts = app
        .count_orders_by_state(Scope::Operator, Some(seeded.store_id))
        .await?;
    let counts: HashMap<OrderState, u64> = counts.into_iter().collect();
    let listen = args.listen.clone().unwrap_or_else(|| settings.listen.clone());

    if json {
        let mut orders = Vec::new();
        for (id, number) in &seeded.orders {
            let order = app.get_order(Scope::Operator, *id).await?;
            orders.push(json!({
                "id": id,
                "number": number,
                "state": order.state,
                "payment": order.payment,
                "hold_reasons": order.hold_reasons,
            }));
        }
        output::print_json(&json!({
            "database": database.describe(),
            "data_dir": demo_dir.display().to_string(),
            "store": { "id": seeded.store_id, "name": seeded.store_name, "token": seeded.store_token },
            "admin_token": admin.token,
            "counts": OrderState::ALL.iter().map(|s| (s.as_str(), counts.get(s).copied().unwrap_or(0))).collect::<BTreeMap<_, _>>(),
            "orders": orders,
        }))?;
    } else {
        print_summary(&app, &seeded, &counts, &admin, &demo_dir, &database, &listen).await?;
    }
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let quiet = json;
    serve::serve(app, &listen, admin.token, |address| {
        if !quiet {
            println!();
            println!("dropline demo is listening on http://{address} (Ctrl-C to stop)");
        }
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Removes the demo's previous database (the admin token file stays, so the token is stable).
fn reset_sqlite(demo_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(demo_dir).with_context(|| format!("while creating {}", demo_dir.display()))?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{}{suffix}", demo_dir.join(SQLITE_FILE).display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| format!("while removing the old demo file {}", path.display()));
            }
        }
    }
    Ok(())
}

async fn print_summary(
    app: &App,
    seeded: &Seeded,
    counts: &HashMap<OrderState, u64>,
    admin: &serve::AdminToken,
    demo_dir: &Path,
    database: &Database,
    listen: &str,
) -> anyhow::Result<()> {
    println!("dropline demo: {} on {}", seeded.store_name, database.describe());
    println!();
    // Examples per state; for holds, one per distinct set of reasons first.
    let mut by_state: HashMap<OrderState, Vec<(String, String)>> = HashMap::new();
    let mut first_of: HashMap<OrderState, OrderId> = HashMap::new();
    for (id, number) in &seeded.orders {
        let order = app.get_order(Scope::Operator, *id).await?;
        let reasons: Vec<&str> = order.hold_reasons.iter().map(|r| r.as_str()).collect();
        let label = if reasons.is_empty() {
            number.clone()
        } else {
            format!("{number} ({})", reasons.join(", "))
        };
        by_state
            .entry(order.state)
            .or_default()
            .push((reasons.join(","), label));
        first_of.entry(order.state).or_insert(*id);
    }
    let mut table = output::table(["STATE", "ORDERS", "EXAMPLES"]);
    for state in OrderState::ALL {
        let count = counts.get(state).copied().unwrap_or(0);
        let examples = by_state.get(state).map(|labels| examples(labels)).unwrap_or_default();
        table.add_row([state.to_string(), count.to_string(), examples]);
    }
    println!("{table}");
    println!();
    println!("store {} ({})", seeded.store_name, seeded.store_id);
    println!("  store API token: {}", seeded.store_token);
    println!("  admin token:     {}", admin.token);
    println!();
    let base = format!("http://{listen}");
    let id_of = |state: OrderState| first_of.get(&state).map(ToString::to_string).unwrap_or_default();
    let (shown, pending) = (id_of(OrderState::PartiallyDelivered), id_of(OrderState::PendingReview));
    println!("try, while the demo serves:");
    println!("  STORE_TOKEN={} ADMIN_TOKEN={}", seeded.store_token, admin.token);
    println!("  curl {base}/healthz");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/counts");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" '{base}/api/v1/orders?state=on_hold'");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/{shown}");
    println!("  curl -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/{shown}/timeline");
    println!("  curl -X POST -H \"Authorization: Bearer $STORE_TOKEN\" {base}/api/v1/orders/{pending}/accept");
    println!("  curl -H \"Authorization: Bearer $ADMIN_TOKEN\" {base}/api/v1/stores");
    println!(
        "  curl -X POST -H \"Authorization: Bearer $STORE_TOKEN\" -H 'Content-Type: application/json' \\\n       \
         -d '{{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"address1\":\"1 Market St\",\"city\":\"San Francisco\",\
         \"region\":\"CA\",\"postal_code\":\"9410\",\"country_code\":\"US\"}}' {base}/api/v1/addresses/validate"
    );
    println!("  curl {base}/api/v1/openapi.json");
    println!("and from the command line:");
    let data_dir = demo_dir.display();
    println!("  dropline --data-dir {data_dir} orders list --state on_hold");
    println!("  dropline --data-dir {data_dir} orders show {shown}");
    println!("  dropline --data-dir {data_dir} orders accept {pending}");
    println!(
        "  dropline address check --country US --region CA --postal-code 9410 --city 'San Francisco' --address1 '1 Market St'"
    );
    Ok(())
}

/// Up to five examples, distinct hold reasons first.
fn examples(labels: &[(String, String)]) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut picked: Vec<&str> = labels
        .iter()
        .filter(|(key, _)| seen.insert(key.as_str()))
        .map(|(_, l)| l.as_str())
        .collect();
    for (_, label) in labels {
        if picked.len() >= 5 {
            break;
        }
        if !picked.contains(&label.as_str()) {
            picked.push(label);
        }
    }
    picked.truncate(5);
    let more = labels.len().saturating_sub(picked.len());
    let mut text = picked.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------

/// What the demo created.
struct Seeded {
    store_id: StoreId,
    store_name: String,
    store_token: String,
    /// Every order with its number, in the order they were received.
    orders: Vec<(OrderId, String)>,
}

/// Where an order of the demo should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Left for the seller to review.
    Review,
    /// Accepted after the worker's last pass: routing is still to come.
    Accept,
    Reject,
    /// Held at ingest (bad address, unpaid, shipped to the store itself).
    Hold,
    /// Accepted, then held by routing (out of stock, cannot ship there).
    RouteToHold,
    /// Cancelled while in review.
    CancelInReview,
    /// Routed, then cancelled (its supplier orders are cancelled with it).
    CancelAfterRouting,
    /// Routed; the supplier orders wait to be placed.
    Fulfill,
    /// Routed and placed with the supplier (its order id recorded), no parcel yet.
    Placed,
    /// Two supplier orders, one parcel shipped.
    PartlyShip,
    Ship,
    /// Two supplier orders, both shipped, one delivered.
    PartlyDeliver,
    Deliver,
    /// Shipped, the carrier could not deliver.
    FailDelivery,
    /// Failed, re-shipped with a new parcel, then delivered.
    ReshipAndDeliver,
    /// Delivered, then completed when the return window is over.
    Complete,
}

impl Plan {
    fn routed(self) -> bool {
        matches!(
            self,
            Self::RouteToHold
                | Self::CancelAfterRouting
                | Self::Fulfill
                | Self::Placed
                | Self::PartlyShip
                | Self::Ship
                | Self::PartlyDeliver
                | Self::Deliver
                | Self::FailDelivery
                | Self::ReshipAndDeliver
                | Self::Complete
        )
    }
}

/// A demo customer: name, email and where they live.
struct Person {
    first: &'static str,
    last: &'static str,
    address1: &'static str,
    city: &'static str,
    region: Option<&'static str>,
    postal: &'static str,
    country: &'static str,
    phone: Option<&'static str>,
}

const fn person(
    (first, last): (&'static str, &'static str),
    address1: &'static str,
    city: &'static str,
    region: Option<&'static str>,
    postal: &'static str,
    country: &'static str,
    phone: Option<&'static str>,
) -> Person {
    Person {
        first,
        last,
        address1,
        city,
        region,
        postal,
        country,
        phone,
    }
}

/// The lines of a demo order: SKU and quantity.
type Lines = &'static [(&'static str, u32)];

/// The demo's orders: who, what (SKU and quantity), how it is paid and where it should end.
#[rustfmt::skip]
fn demo_orders() -> Vec<(Person, Lines, PaymentState, Plan)> {
    use PaymentState::{Authorized, Paid, Pending};
    use Plan::*;
    const MUG: &[(&str, u32)] = &[("MUG-BLK-11", 1)];
    const MUGS: &[(&str, u32)] = &[("MUG-WHT-11", 2)];
    const TEE: &[(&str, u32)] = &[("TSHIRT-W-M", 1)];
    const TEE_B: &[(&str, u32)] = &[("TSHIRT-B-L", 2)];
    const MUG_AND_TEE: &[(&str, u32)] = &[("MUG-BLK-11", 1), ("TSHIRT-B-L", 1)];
    const MUG_TEE_GIFT: &[(&str, u32)] = &[("MUG-WHT-11", 1), ("TSHIRT-W-M", 1), ("GIFT-25", 1)];
    const POSTER: &[(&str, u32)] = &[("POSTER-A2", 1)];
    const LAMP: &[(&str, u32)] = &[("LAMP-LIN", 1)];
    const TEE_AND_LAMP: &[(&str, u32)] = &[("TSHIRT-W-M", 1), ("LAMP-LIN", 1)];
    vec![
        (person(("Emily", "Johnson"), "742 Evergreen Terrace", "Springfield", Some("IL"), "62704", "US", Some("+1 217 555 0143")), TEE, Paid, Review),
        (person(("Lukas", "Müller"), "Unter den Linden 77", "Berlin", None, "10117", "DE", Some("+49 30 2263 0")), TEE_AND_LAMP, Paid, Review),
        (person(("Chloé", "Tremblay"), "1200 Rue Sainte-Catherine O", "Montréal", Some("QC"), "H3B 1K9", "CA", None), TEE_B, Authorized, Review),
        (person(("Hiroshi", "Tanaka"), "1-1 Marunouchi", "Chiyoda-ku, Tokyo", Some("Tokyo"), "100-0005", "JP", None), MUG_AND_TEE, Paid, Review),
        (person(("Oliver", "Smith"), "221B Baker Street", "London", None, "NW1 6XE", "GB", Some("+44 20 7224 3688")), TEE, Paid, Accept),
        (person(("Camille", "Dubois"), "8 Rue de Rivoli", "Paris", None, "75004", "FR", None), MUG_AND_TEE, Paid, Accept),
        (person(("Jack", "Taylor"), "1 Macquarie St", "Sydney", Some("NSW"), "2000", "AU", Some("+61 2 9250 7111")), TEE, Paid, Reject),
        (person(("Sofia", "Martinez"), "350 5th Ave Apt 21B", "New York", Some("NY"), "10118", "US", None), TEE_B, Paid, Reject),
        // Held at ingest: addresses that would not arrive.
        (person(("Michael", "Brown"), "1600 Amphitheatre Pkwy", "Mountain View", Some("CA"), "9404", "US", None), TEE, Paid, Hold),
        (person(("Amelia", "Jones"), "10 Deansgate", "Manchester", None, "", "GB", None), MUG, Paid, Hold),
        (person(("Noah", "Gagnon"), "290 Bremner Blvd", "Toronto", Some("XX"), "M5V 3L9", "CA", None), TEE, Paid, Hold),
        (person(("Ava", "Wilson"), "55 Water St", "", Some("NY"), "10041", "US", None), MUGS, Paid, Hold),
        // Held at ingest: the customer typed the store's own address, where no supplier may ship.
        (person(("Noah", "Lee"), "500 Terry A Francois Blvd", "San Francisco", Some("CA"), "94158", "US", None), TEE, Paid, Hold),
        // Held at ingest: payment not captured.
        (person(("Daan", "de Vries"), "Damrak 70", "Amsterdam", None, "1012 LM", "NL", None), MUG, Pending, Hold),
        (person(("Lucía", "García"), "Calle de Alcalá 45", "Madrid", Some("Madrid"), "28014", "ES", None), TEE, Pending, Hold),
        (person(("James", "Wilson"), "2100 Pennsylvania Ave NW", "Washington", Some("DC"), "20037", "US", None), MUGS, Pending, Hold),
        // Held by routing: the poster is out of stock everywhere; the lamp cannot go to the US.
        (person(("Olivia", "Davis"), "1 Pike Pl", "Seattle", Some("WA"), "98101", "US", Some("+1 206 555 0199")), POSTER, Paid, RouteToHold),
        (person(("William", "Clark"), "233 S Wacker Dr", "Chicago", Some("IL"), "60606", "US", None), LAMP, Paid, RouteToHold),
        (person(("Anna", "Schmidt"), "Marienplatz 8", "München", None, "80331", "DE", None), TEE, Paid, CancelInReview),
        (person(("Hugo", "Laurent"), "12 Quai Saint-Antoine", "Lyon", None, "69002", "FR", None), MUG, Paid, CancelAfterRouting),
        (person(("Ana", "Souza"), "Avenida Paulista 1578", "São Paulo", Some("SP"), "01310-200", "BR", Some("+55 11 3284 0000")), MUG, Paid, Fulfill),
        (person(("Giulia", "Rossi"), "Via del Corso 12", "Roma", Some("RM"), "00186", "IT", None), MUGS, Paid, Fulfill),
        (person(("Ethan", "Miller"), "100 Congress Ave", "Austin", Some("TX"), "78701", "US", None), TEE, Paid, Placed),
        (person(("Mia", "Anderson"), "401 Biscayne Blvd", "Miami", Some("FL"), "33132", "US", None), MUG_AND_TEE, Paid, Placed),
        (person(("Isabella", "Thomas"), "1 Ferry Building", "San Francisco", Some("CA"), "94111", "US", None), MUG_AND_TEE, Paid, PartlyShip),
        (person(("Finn", "Becker"), "Königsallee 60", "Düsseldorf", None, "40212", "DE", None), MUG_TEE_GIFT, Paid, PartlyShip),
        (person(("Harper", "Moore"), "500 Boylston St", "Boston", Some("MA"), "02116", "US", None), MUG, Paid, Ship),
        (person(("Thomas", "Evans"), "1 Princes St", "Edinburgh", None, "EH2 2EQ", "GB", None), TEE, Paid, Ship),
        (person(("Léa", "Bernard"), "3 Place Bellecour", "Lyon", None, "69002", "FR", None), MUGS, Paid, Ship),
        (person(("Charlotte", "White"), "800 Nicollet Mall", "Minneapolis", Some("MN"), "55402", "US", None), MUG_AND_TEE, Paid, PartlyDeliver),
        (person(("Matteo", "Bianchi"), "Corso Buenos Aires 33", "Milano", Some("MI"), "20124", "IT", None), MUG_AND_TEE, Paid, PartlyDeliver),
        (person(("Benjamin", "Harris"), "1 Infinite Loop", "Cupertino", Some("CA"), "95014", "US", None), MUG, Paid, Deliver),
        (person(("Grace", "Walker"), "12 Queen St", "Auckland", None, "1010", "NZ", None), TEE, Paid, Deliver),
        (person(("Emma", "Wagner"), "Mariahilfer Straße 1", "Wien", None, "1060", "AT", None), MUGS, Paid, Complete),
        (person(("Liam", "O'Brien"), "Grafton Street 20", "Dublin", None, "D02 XY45", "IE", None), MUG, Paid, FailDelivery),
        (person(("Sophie", "Peeters"), "Grote Markt 1", "Brussel", None, "1000", "BE", None), TEE, Paid, FailDelivery),
        (person(("Lucas", "Silva"), "Rua Augusta 100", "Lisboa", None, "1100-053", "PT", None), MUG, Paid, ReshipAndDeliver),
    ]
}

async fn seed(app: &App) -> anyhow::Result<Seeded> {
    let usd = Currency::parse("USD")?;
    let store_name = "Northwind Goods".to_string();
    let (store_id, store_token) = create_store(app, &store_name, usd).await?;
    create_catalog(app, store_id, usd).await?;
    let orders = receive_orders(app, store_id, usd).await?;

    // Review: the seller rejects some, cancels one and accepts those to be routed now.
    for (id, _, plan) in &orders {
        let state = app.get_order(Scope::Operator, *id).await?.state;
        match plan {
            Plan::Reject => {
                app.reject_order(Scope::Operator, *id).await?;
            }
            Plan::CancelInReview => {
                app.cancel_order(Scope::Operator, *id).await?;
            }
            plan if plan.routed() && state == OrderState::PendingReview => {
                app.accept_order(Scope::Operator, *id).await?;
            }
            _ => {}
        }
    }

    // The worker routes the accepted orders: supplier orders, or a hold.
    let worker = Worker::new(app.clone(), WorkerConfig::default());
    worker.run_until_idle().await.context("while running the worker")?;

    // The vendor works the manual supplier orders.
    for (n, (id, number, plan)) in orders.iter().enumerate() {
        work_supplier_orders(app, n, *id, number, *plan)
            .await
            .with_context(|| format!("while fulfilling demo order {number}"))?;
    }

    // Last, accept a few more: routing them is the worker's next job (`serve` runs it).
    for (id, _, plan) in &orders {
        if *plan == Plan::Accept {
            app.accept_order(Scope::Operator, *id).await?;
        }
    }

    Ok(Seeded {
        store_id,
        store_name,
        store_token,
        orders: orders.into_iter().map(|(id, number, _)| (id, number)).collect(),
    })
}

/// The seller's store, with automatic acceptance for one product.
async fn create_store(app: &App, name: &str, usd: Currency) -> anyhow::Result<(StoreId, String)> {
    let store_address = Address {
        first_name: "Northwind".into(),
        last_name: "Goods".into(),
        company: Some("Northwind Goods LLC".into()),
        address1: "500 Terry A Francois Blvd".into(),
        address2: None,
        city: "San Francisco".into(),
        region: Some("CA".into()),
        postal_code: "94158".into(),
        country_code: "US".into(),
        phone: Some("+1 415 555 0100".into()),
    };
    let (store, store_token) = app
        .create_store(
            Scope::Operator,
            NewStore {
                name: name.to_string(),
                platform: Platform::Api,
                currency: usd,
                address: Some(store_address),
                settings: StoreSettings {
                    // Automation for one product first: paid orders of black mugs alone under $100.
                    auto_accept: AutoAcceptRules {
                        enabled: true,
                        require_paid: true,
                        max_total_minor: Some(10_000),
                        allowed_skus: vec!["MUG-BLK-11".into()],
                    },
                    ..StoreSettings::default()
                },
                connection: Default::default(),
            },
        )
        .await?;
    Ok((store.store.id, store_token))
}

/// Three manual suppliers and a small catalogue: mugs and T-shirts with a primary and a
/// backup offer, a poster out of stock everywhere, a lamp that ships within the EU only.
async fn create_catalog(app: &App, store_id: StoreId, usd: Currency) -> anyhow::Result<()> {
    let money = |minor: i64| Money::new(minor, usd);
    let supplier = |name: &str, from: &str, days: u32, rating: u32| NewSupplier {
        store_id,
        name: name.into(),
        kind: SupplierKind::Manual,
        ships_from: Some(from.into()),
        processing_days: days,
        rating,
    };
    let shenzhen = app
        .create_supplier(Scope::Operator, supplier("Shenzhen Homeware Co.", "CN", 3, 88))
        .await?
        .id;
    let lisbon = app
        .create_supplier(Scope::Operator, supplier("Lisbon Textile Studio", "PT", 2, 93))
        .await?
        .id;
    let ohio = app
        .create_supplier(Scope::Operator, supplier("Ohio Print & Ship", "US", 1, 81))
        .await?
        .id;

    let product = |title: &str, variants: &[(&str, &str, i64)]| NewProduct {
        store_id,
        title: title.into(),
        variants: variants
            .iter()
            .map(|(sku, variant, price)| NewVariant {
                sku: (*sku).into(),
                title: (*variant).into(),
                price: money(*price),
                platform_variant_id: None,
            })
            .collect(),
    };
    let mut variants: Vec<Variant> = Vec::new();
    for new in [
        product(
            "Ceramic mug",
            &[
                ("MUG-BLK-11", "Black / 11 oz", 1_400),
                ("MUG-WHT-11", "White / 11 oz", 1_400),
            ],
        ),
        product(
            "Organic T-shirt",
            &[("TSHIRT-W-M", "White / M", 2_400), ("TSHIRT-B-L", "Black / L", 2_400)],
        ),
        product("Night sky poster", &[("POSTER-A2", "A2", 1_900)]),
        product("Linen desk lamp", &[("LAMP-LIN", "Natural linen", 5_900)]),
    ] {
        variants.extend(app.create_product(Scope::Operator, new).await?.variants);
    }
    let variant = |sku: &str| -> anyhow::Result<VariantId> {
        variants
            .iter()
            .find(|v| v.sku == sku)
            .map(|v| v.id)
            .with_context(|| format!("no variant {sku}"))
    };
    let ship = |country: &str, name: &str, cost: i64, min_days: u32, max_days: u32| ShippingMethod {
        country: country.into(),
        name: name.into(),
        cost: money(cost),
        min_days,
        max_days,
    };
    let eu = ["AT", "BE", "DE", "ES", "FR", "IE", "IT", "NL", "PT"];
    let offer = |variant_id: VariantId,
                 supplier_id: SupplierId,
                 sku: &str,
                 url: Option<&str>,
                 cost: i64,
                 stock: Option<u32>,
                 shipping: Vec<ShippingMethod>,
                 priority: OfferPriority| NewOffer {
        variant_id,
        supplier_id,
        supplier_sku: sku.into(),
        supplier_product_id: None,
        supplier_variant_id: None,
        product_url: url.map(Into::into),
        unit_cost: money(cost),
        stock,
        shipping,
        priority,
    };
    let worldwide = || {
        vec![
            ship("US", "ePacket", 250, 8, 15),
            ship("*", "AliExpress Standard Shipping", 390, 12, 25),
        ]
    };
    let north_america = || {
        vec![
            ship("US", "USPS Ground Advantage", 450, 2, 5),
            ship("CA", "UPS Standard", 900, 4, 8),
        ]
    };
    let europe = || {
        let mut methods = vec![ship("*", "CTT Expresso International", 650, 5, 12)];
        methods.push(ship("US", "CTT Expresso International", 1_200, 7, 14));
        methods
    };
    let offers = vec![
        // Mugs: China primary (with its product pages for the person who orders), Ohio backup.
        offer(
            variant("MUG-BLK-11")?,
            shenzhen,
            "SZH-MUG-11-BK",
            Some("https://supplier.example/shenzhen-homeware/item/10051-black"),
            320,
            Some(5_000),
            worldwide(),
            OfferPriority::Primary,
        ),
        offer(
            variant("MUG-BLK-11")?,
            ohio,
            "OPS-MUG11-BLK",
            None,
            510,
            Some(400),
            north_america(),
            OfferPriority::Backup,
        ),
        offer(
            variant("MUG-WHT-11")?,
            shenzhen,
            "SZH-MUG-11-WH",
            Some("https://supplier.example/shenzhen-homeware/item/10051-white"),
            300,
            Some(5_000),
            worldwide(),
            OfferPriority::Primary,
        ),
        offer(
            variant("MUG-WHT-11")?,
            ohio,
            "OPS-MUG11-WHT",
            None,
            490,
            Some(400),
            north_america(),
            OfferPriority::Backup,
        ),
        // T-shirts: Lisbon primary, Ohio backup for North America.
        offer(
            variant("TSHIRT-W-M")?,
            lisbon,
            "LTS-ORG-WM",
            None,
            780,
            Some(800),
            europe(),
            OfferPriority::Primary,
        ),
        offer(
            variant("TSHIRT-W-M")?,
            ohio,
            "OPS-TEE-WM",
            None,
            950,
            Some(300),
            north_america(),
            OfferPriority::Backup,
        ),
        offer(
            variant("TSHIRT-B-L")?,
            lisbon,
            "LTS-ORG-BL",
            None,
            780,
            Some(800),
            europe(),
            OfferPriority::Primary,
        ),
        offer(
            variant("TSHIRT-B-L")?,
            ohio,
            "OPS-TEE-BL",
            None,
            950,
            Some(300),
            north_america(),
            OfferPriority::Backup,
        ),
        // The poster is out of stock at both suppliers.
        offer(
            variant("POSTER-A2")?,
            shenzhen,
            "SZH-PST-A2-NIGHT",
            Some("https://supplier.example/shenzhen-homeware/item/20417"),
            260,
            Some(0),
            worldwide(),
            OfferPriority::Primary,
        ),
        offer(
            variant("POSTER-A2")?,
            ohio,
            "OPS-PST-A2",
            None,
            610,
            Some(0),
            north_america(),
            OfferPriority::Backup,
        ),
        // The lamp ships within the EU only.
        offer(
            variant("LAMP-LIN")?,
            lisbon,
            "LTS-LAMP-NAT",
            None,
            2_150,
            Some(60),
            eu.iter().map(|c| ship(c, "CTT Expresso", 890, 3, 7)).collect(),
            OfferPriority::Primary,
        ),
    ];
    for new in offers {
        app.add_offer(Scope::Operator, new).await?;
    }
    Ok(())
}

/// Receives the demo orders, as a storefront would send them.
async fn receive_orders(app: &App, store_id: StoreId, usd: Currency) -> anyhow::Result<Vec<(OrderId, String, Plan)>> {
    let money = |minor: i64| Money::new(minor, usd);
    let price = |sku: &str| -> (i64, &'static str, &'static str, bool) {
        match sku {
            "MUG-BLK-11" => (1_400, "Ceramic mug", "Black / 11 oz", true),
            "MUG-WHT-11" => (1_400, "Ceramic mug", "White / 11 oz", true),
            "TSHIRT-W-M" => (2_400, "Organic T-shirt", "White / M", true),
            "TSHIRT-B-L" => (2_400, "Organic T-shirt", "Black / L", true),
            "POSTER-A2" => (1_900, "Night sky poster", "A2", true),
            "LAMP-LIN" => (5_900, "Linen desk lamp", "Natural linen", true),
            _ => (2_500, "Gift card", "$25", false),
        }
    };
    let now = OffsetDateTime::now_utc();
    let plans = demo_orders();
    let total = plans.len() as i64;
    let mut orders: Vec<(OrderId, String, Plan)> = Vec::new();
    for (index, (who, lines, payment, plan)) in plans.into_iter().enumerate() {
        let index = index as i64;
        let number = format!("#{}", 1001 + index);
        let address = Address {
            first_name: who.first.into(),
            last_name: who.last.into(),
            company: None,
            address1: who.address1.into(),
            address2: None,
            city: who.city.into(),
            region: who.region.map(Into::into),
            postal_code: who.postal.into(),
            country_code: who.country.into(),
            phone: who.phone.map(Into::into),
        };
        let email = format!("{}.{}@example.com", ascii_lower(who.first), ascii_lower(who.last));
        let incoming = IncomingOrder {
            external_id: format!("demo-{}", 5001 + index),
            number: number.clone(),
            customer: Customer {
                name: format!("{} {}", who.first, who.last),
                email: Some(email),
                phone: who.phone.map(Into::into),
            },
            shipping_address: address,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (sku, quantity))| {
                    let (minor, title, variant, requires_shipping) = price(sku);
                    IncomingLine {
                        external_id: Some(format!("{}-{}", 5001 + index, i + 1)),
                        sku: (*sku).into(),
                        title: title.into(),
                        variant_title: Some(variant.into()),
                        quantity: *quantity,
                        unit_price: money(minor),
                        requires_shipping,
                        platform_product_id: None,
                        platform_variant_id: None,
                        fulfillable_quantity: None,
                    }
                })
                .collect(),
            currency: usd,
            shipping_total: money(if index % 3 == 0 { 0 } else { 499 }),
            payment,
            // Spread over the last three days, oldest first.
            placed_at: now - time::Duration::minutes((total - index) * 117),
            test: false,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            shipping_method: None,
        };
        let outcome = app
            .ingest_order(Scope::Operator, store_id, incoming, Actor::Storefront("demo".into()))
            .await
            .with_context(|| format!("while receiving order {number}"))?;
        orders.push((outcome.order_id, number, plan));
    }
    Ok(orders)
}

/// What the vendor does with the supplier orders of one routed order, by its plan: place
/// them (record the supplier's order id), add parcels, mark them shipped, delivered or failed.
async fn work_supplier_orders(app: &App, n: usize, id: OrderId, number: &str, plan: Plan) -> Result<(), AppError> {
    let carriers = [
        ("USPS", "9400111899223344556677"),
        ("DHL", "JD014600003828"),
        ("Royal Mail", "RM1234567"),
        ("Cainiao", "LP0012345678"),
    ];
    let order = app.get_order(Scope::Operator, id).await?;
    let supplier_orders: Vec<_> = order.supplier_orders.iter().map(|s| (s.id, s.expected_cost)).collect();
    let (carrier, base) = carriers[n % carriers.len()];
    let tracking = |k: usize| format!("{base}{n:02}{k}");
    let place = |k: usize| format!("SO-{}-{}", number.trim_start_matches('#'), k + 1);
    match plan {
        Plan::CancelAfterRouting => {
            app.cancel_order(Scope::Operator, id).await?;
        }
        Plan::Placed => {
            for (k, (so, cost)) in supplier_orders.iter().enumerate() {
                app.record_supplier_reference(Scope::Operator, *so, &place(k), Some(*cost))
                    .await?;
            }
        }
        Plan::PartlyShip
        | Plan::Ship
        | Plan::PartlyDeliver
        | Plan::Deliver
        | Plan::FailDelivery
        | Plan::ReshipAndDeliver
        | Plan::Complete => {
            for (k, (so, cost)) in supplier_orders.iter().enumerate() {
                app.record_supplier_reference(Scope::Operator, *so, &place(k), Some(*cost))
                    .await?;
                if plan == Plan::PartlyShip && k > 0 {
                    continue;
                }
                app.add_shipment(Scope::Operator, *so, carrier, &tracking(k), None)
                    .await?;
                app.mark_parcel(Scope::Operator, *so, None, ParcelAction::Shipped, None)
                    .await?;
                let deliver = match plan {
                    Plan::Deliver | Plan::Complete => true,
                    Plan::PartlyDeliver => k == 0,
                    _ => false,
                };
                if deliver {
                    app.mark_parcel(
                        Scope::Operator,
                        *so,
                        None,
                        ParcelAction::Delivered,
                        Some("Left at the front door".into()),
                    )
                    .await?;
                }
                if matches!(plan, Plan::FailDelivery | Plan::ReshipAndDeliver) {
                    app.mark_parcel(
                        Scope::Operator,
                        *so,
                        None,
                        ParcelAction::Failed,
                        Some("Recipient not at home; returned to depot".into()),
                    )
                    .await?;
                }
                if plan == Plan::ReshipAndDeliver {
                    app.reship(Scope::Operator, *so, None, carrier, &tracking(k + 5))
                        .await?;
                    app.mark_parcel(Scope::Operator, *so, None, ParcelAction::Shipped, None)
                        .await?;
                    app.mark_parcel(Scope::Operator, *so, None, ParcelAction::Delivered, None)
                        .await?;
                }
            }
        }
        _ => {}
    }
    if plan == Plan::Complete {
        app.complete_order(Scope::Operator, id).await?;
    }
    Ok(())
}

fn ascii_lower(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'á' | 'à' | 'ã' => 'a',
            'ü' => 'u',
            'ö' => 'o',
            'í' => 'i',
            other => other,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    mapped.to_ascii_lowercase()
}
