//! The rules a store's settings must meet, in one place for every interface: the REST API
//! checks each field with these functions as it reads the body (so that every refused field
//! is named at once, with the body's own path), and the use cases that write settings
//! ([`App::create_store`](crate::App::create_store),
//! [`App::update_store_settings`](crate::App::update_store_settings)) check the whole with
//! [`check_store_settings`], whoever calls them (the dashboard's forms, the CLI).
//!
//! Each `*_problem` function answers `None` when the value is taken, else the reason it is
//! refused, written to be shown next to the field.

use crate::error::FieldError;
use dropline_domain::catalog::StoreSettings;

/// The longest clock limit, in hours: a year.
pub const MAX_CLOCK_HOURS: u32 = 365 * 24;

/// The largest basis-point value (the price tolerance, the margin floor): 100 %.
pub const MAX_BASIS_POINTS: u32 = 10_000;

/// The largest weight of the `weighted` routing policy, in percent points.
pub const MAX_ROUTING_WEIGHT: u32 = 100;

/// The longest note to suppliers, in characters.
pub const MAX_SUPPLIER_NOTE_CHARS: usize = 500;

/// The longest brand display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// The longest URL taken, in characters.
pub const MAX_URL_CHARS: usize = 2048;

/// Every refused field of `settings`, named by its path inside the settings
/// (`brand.logo_url`, `clocks.customs_hours`); empty when they are all taken.
pub fn check_store_settings(settings: &StoreSettings) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut check = |field: &str, problem: Option<&'static str>| {
        if let Some(reason) = problem {
            errors.push(FieldError::new(field, reason));
        }
    };

    let rules = &settings.auto_accept;
    check(
        "auto_accept.max_total_minor",
        rules.max_total_minor.and_then(max_total_problem),
    );
    let w = settings.routing_weights;
    for (field, weight) in [
        ("routing_weights.margin", w.margin),
        ("routing_weights.speed", w.speed),
        ("routing_weights.rating", w.rating),
        ("routing_weights.on_time", w.on_time),
    ] {
        check(field, routing_weight_problem(weight));
    }
    let total = [w.margin, w.speed, w.rating, w.on_time]
        .iter()
        .map(|weight| u64::from(*weight))
        .sum::<u64>();
    if total == 0 {
        check("routing_weights", Some("at least one weight must be above zero"));
    }
    check(
        "supplier_price_tolerance_bp",
        basis_points_problem(settings.supplier_price_tolerance_bp),
    );
    check(
        "margin_floor_bp",
        settings.margin_floor_bp.and_then(basis_points_problem),
    );
    check(
        "supplier_note",
        settings.supplier_note.as_deref().and_then(supplier_note_problem),
    );
    check("fees.payment_bp", basis_points_problem(settings.fees.payment_bp));
    check("fees.platform_bp", basis_points_problem(settings.fees.platform_bp));
    for (field, minor) in [
        ("fees.payment_fixed", settings.fees.payment_fixed_minor),
        ("fees.chargeback_fee", settings.fees.chargeback_fee_minor),
    ] {
        check(
            field,
            (!(0..=MAX_FIXED_FEE_MINOR).contains(&minor)).then_some("must be zero or more, and at most 1,000,000.00"),
        );
    }
    check("holding_days", holding_days_problem(settings.holding_days));
    let returns = &settings.returns;
    check("returns.window_days", return_window_problem(returns.window_days));
    check(
        "returns.returnless_refund_up_to",
        returns.returnless_refund_up_to_minor.and_then(returnless_limit_problem),
    );

    let brand = &settings.brand;
    check(
        "brand.display_name",
        brand.display_name.as_deref().and_then(display_name_problem),
    );
    check("brand.logo_url", brand.logo_url.as_deref().and_then(url_problem));
    check("brand.from_email", brand.from_email.as_deref().and_then(email_problem));
    check("brand.reply_to", brand.reply_to.as_deref().and_then(email_problem));
    check(
        "brand.support_email",
        brand.support_email.as_deref().and_then(email_problem),
    );
    check("brand.website_url", brand.website_url.as_deref().and_then(url_problem));

    let notifications = &settings.seller_notifications;
    check(
        "seller_notifications.email",
        notifications.email.as_deref().and_then(email_problem),
    );
    check(
        "seller_notifications.digest_hour_utc",
        digest_hour_problem(u32::from(notifications.digest_hour_utc)),
    );

    let c = settings.clocks;
    for (field, hours) in [
        ("clocks.placed_within_hours", c.placed_within_hours),
        ("clocks.accepted_within_hours", c.accepted_within_hours),
        ("clocks.shipped_within_hours", c.shipped_within_hours),
        ("clocks.first_scan_within_hours", c.first_scan_within_hours),
        ("clocks.transit_within_hours", c.transit_within_hours),
        ("clocks.no_news_hours", c.no_news_hours),
        ("clocks.customs_hours", c.customs_hours),
    ] {
        check(field, clock_hours_problem(hours));
    }
    errors
}

/// A vendor's holding period, in days: at most a year.
pub fn holding_days_problem(days: u32) -> Option<&'static str> {
    (days > dropline_domain::payout::MAX_HOLDING_DAYS).then_some("must be 0 to 365 days")
}

/// A store's return window, in days after delivery: 0 (no returns) to a year.
pub fn return_window_problem(days: u32) -> Option<&'static str> {
    (days > dropline_domain::catalog::MAX_STORE_RETURN_WINDOW_DAYS).then_some("must be 0 (no returns) to 365 days")
}

/// The most a return refunded without the item may be worth, in minor units: zero or more,
/// within the fixed fees' guard.
pub fn returnless_limit_problem(minor: i64) -> Option<&'static str> {
    (!(0..=MAX_FIXED_FEE_MINOR).contains(&minor)).then_some("must be zero or more, and at most 1,000,000.00")
}

/// Why a caller may not change a store's holding period: only the marketplace operator
/// sets it (it decides when the operator owes the vendor).
pub const HOLDING_DAYS_OPERATOR_ONLY: &str = "only the marketplace operator sets the holding period";

/// The largest order total that auto-accepts, in minor units: not negative.
pub fn max_total_problem(minor: i64) -> Option<&'static str> {
    (minor < 0).then_some("must not be negative")
}

/// A weight of the `weighted` policy: 0 to [`MAX_ROUTING_WEIGHT`] percent points.
pub fn routing_weight_problem(weight: u32) -> Option<&'static str> {
    (weight > MAX_ROUTING_WEIGHT).then_some("must be from 0 to 100")
}

/// A share in basis points: at most [`MAX_BASIS_POINTS`].
/// Most a fixed fee may be, in minor units (a guard against a typo of a few zeros).
pub const MAX_FIXED_FEE_MINOR: i64 = 100_000_000;

pub fn basis_points_problem(bp: u32) -> Option<&'static str> {
    (bp > MAX_BASIS_POINTS).then_some("must be at most 10000 (100 %)")
}

/// The note to suppliers: at most [`MAX_SUPPLIER_NOTE_CHARS`] characters.
pub fn supplier_note_problem(note: &str) -> Option<&'static str> {
    (note.chars().count() > MAX_SUPPLIER_NOTE_CHARS).then_some("must be at most 500 characters")
}

/// A clock limit: whole hours from 1 to [`MAX_CLOCK_HOURS`].
pub fn clock_hours_problem(hours: u32) -> Option<&'static str> {
    (!(1..=MAX_CLOCK_HOURS).contains(&hours)).then_some("must be from 1 to 8760 hours (a year)")
}

/// The hour of the seller's digest: 0 to 23 (UTC).
pub fn digest_hour_problem(hour: u32) -> Option<&'static str> {
    (hour > 23).then_some("must be an hour from 0 to 23")
}

/// The brand's display name (as it will be kept, trimmed): not blank, at most
/// [`MAX_DISPLAY_NAME_CHARS`] characters, no control characters (it goes into the `From`
/// header of emails).
pub fn display_name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("must not be blank (leave it out to use the store's name)")
    } else if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        Some("must be at most 100 characters")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters (line breaks, tabs)")
    } else {
        None
    }
}

/// An email address, by a deliberately simple check (not the whole RFC 5322 grammar): at
/// most 254 characters; no whitespace, control characters or any of `<>()[]\,;:"` (so no
/// display names, quoted local parts or lists that would change what a mail header means);
/// exactly one `@`; a local part of 1 to 64 characters; a domain of at least two
/// dot-separated, non-empty labels.
pub fn email_problem(text: &str) -> Option<&'static str> {
    const EXAMPLE: &str = "must be an email address such as orders@shop.example";
    if text.chars().count() > 254 {
        return Some("must be at most 254 characters");
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
    {
        return Some("must be a bare email address, without spaces, control characters or any of <>()[]\\,;:\"");
    }
    let Some((local, domain)) = text.split_once('@') else {
        return Some(EXAMPLE);
    };
    if domain.contains('@') {
        return Some("must contain exactly one @");
    }
    if local.is_empty() || local.chars().count() > 64 {
        return Some("must have 1 to 64 characters before the @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return Some("must have a domain with a dot after the @, such as shop.example");
    }
    None
}

/// A public URL (a logo, the storefront): an absolute `https://` URL with a host (`http://`
/// only for `localhost` and `127.0.0.1`, for local testing), without user name or password,
/// whitespace or control characters, at most [`MAX_URL_CHARS`] characters.
pub fn url_problem(text: &str) -> Option<&'static str> {
    const ABSOLUTE: &str = "must be an absolute https:// URL such as https://shop.example/logo.png";
    if text.chars().count() > MAX_URL_CHARS {
        return Some("must be at most 2048 characters");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces or control characters");
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Some(ABSOLUTE);
    };
    let secure = scheme.eq_ignore_ascii_case("https");
    if !secure && !scheme.eq_ignore_ascii_case("http") {
        return Some(ABSOLUTE);
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some("must not contain a user name or password");
    }
    const HOST: &str = "must have a valid host, such as shop.example";
    // The host and the port after it; `[…]` holds an IPv6 address, with colons.
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((ip, after)) = bracketed.split_once(']') else {
            return Some(HOST);
        };
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Some(HOST);
        }
        let port = match after.strip_prefix(':') {
            Some(port) => port,
            None if after.is_empty() => "",
            None => return Some(HOST),
        };
        (&authority[..ip.len() + 2], port)
    } else {
        let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
        let labels_ok = host.split('.').all(|label| !label.is_empty());
        if !labels_ok || !host.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.') {
            return Some(HOST);
        }
        (host, port)
    };
    let port_ok =
        port.is_empty() || (port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok {
        return Some("must have a port from 1 to 65535 after the host");
    }
    let loopback = host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1";
    if !(secure || loopback) {
        return Some("must be an https:// URL (http:// only for localhost and 127.0.0.1)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::catalog::{RoutingWeights, StoreBrand};

    fn fields(settings: &StoreSettings) -> Vec<String> {
        check_store_settings(settings).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_defaults_are_taken() {
        assert_eq!(fields(&StoreSettings::default()), Vec::<String>::new());
    }

    #[test]
    fn each_bad_value_is_named_by_its_path() {
        let mut settings = StoreSettings::default();
        settings.auto_accept.max_total_minor = Some(-1);
        settings.routing_weights = RoutingWeights {
            margin: u32::MAX,
            speed: u32::MAX,
            rating: 0,
            on_time: 0,
        };
        settings.supplier_price_tolerance_bp = MAX_BASIS_POINTS + 1;
        settings.margin_floor_bp = Some(u32::MAX);
        settings.supplier_note = Some("n".repeat(MAX_SUPPLIER_NOTE_CHARS + 1));
        settings.brand = StoreBrand {
            display_name: Some("  ".into()),
            logo_url: Some("http://cdn.example/logo.png".into()),
            from_email: Some("orders".into()),
            reply_to: Some("a@b".into()),
            support_email: Some("Help <help@shop.example>".into()),
            website_url: Some("javascript:alert(1)".into()),
        };
        settings.seller_notifications.email = Some("owner@".into());
        settings.seller_notifications.digest_hour_utc = 24;
        settings.clocks.placed_within_hours = 0;
        settings.clocks.customs_hours = MAX_CLOCK_HOURS + 1;
        assert_eq!(
            fields(&settings),
            [
                "auto_accept.max_total_minor",
                "routing_weights.margin",
                "routing_weights.speed",
                "supplier_price_tolerance_bp",
                "margin_floor_bp",
                "supplier_note",
                "brand.display_name",
                "brand.logo_url",
                "brand.from_email",
                "brand.reply_to",
                "brand.support_email",
                "brand.website_url",
                "seller_notifications.email",
                "seller_notifications.digest_hour_utc",
                "clocks.placed_within_hours",
                "clocks.customs_hours",
            ]
        );
    }

    #[test]
    fn weights_may_not_all_be_zero() {
        let settings = StoreSettings {
            routing_weights: RoutingWeights {
                margin: 0,
                speed: 0,
                rating: 0,
                on_time: 0,
            },
            ..StoreSettings::default()
        };
        assert_eq!(fields(&settings), ["routing_weights"]);
    }

    #[test]
    fn return_rules_are_checked_by_field() {
        let mut settings = StoreSettings::default();
        for (days, minor) in [(0, 0), (365, MAX_FIXED_FEE_MINOR)] {
            settings.returns.window_days = days;
            settings.returns.returnless_refund_up_to_minor = Some(minor);
            assert_eq!(fields(&settings), Vec::<String>::new(), "{days} {minor}");
        }
        settings.returns.window_days = 366;
        settings.returns.returnless_refund_up_to_minor = Some(-1);
        assert_eq!(
            fields(&settings),
            ["returns.window_days", "returns.returnless_refund_up_to"]
        );
    }

    #[test]
    fn the_limits_are_inclusive() {
        assert_eq!(clock_hours_problem(1), None);
        assert_eq!(clock_hours_problem(MAX_CLOCK_HOURS), None);
        assert!(clock_hours_problem(MAX_CLOCK_HOURS + 1).is_some_and(|r| r.contains("8760")));
        assert_eq!(digest_hour_problem(23), None);
        assert_eq!(basis_points_problem(MAX_BASIS_POINTS), None);
        assert_eq!(routing_weight_problem(MAX_ROUTING_WEIGHT), None);
        assert_eq!(display_name_problem(&"N".repeat(MAX_DISPLAY_NAME_CHARS)), None);
        assert!(display_name_problem(&"N".repeat(MAX_DISPLAY_NAME_CHARS + 1)).is_some());
        assert!(display_name_problem("Acme\r\nBcc: x@evil.example").is_some());
    }

    #[test]
    fn addresses_and_urls() {
        assert_eq!(email_problem("first.last+shop@mail.sub.acme.example"), None);
        for bad in [
            "orders",
            "@a.example",
            "a@b",
            "a@@b.example",
            "a b@c.example",
            "a@b..example",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
        for good in [
            "https://cdn.acme.example/logo.png?v=2",
            "HTTPS://Acme.Example:8443/shop?ref=email#top",
            "http://localhost:3000/logo.png",
            "http://127.0.0.1",
            "https://[::1]:8443/x",
        ] {
            assert_eq!(url_problem(good), None, "{good}");
        }
        for bad in [
            "http://cdn.acme.example/logo.png",
            "ftp://cdn.acme.example",
            "/logo.png",
            "https://",
            "https://user:pw@cdn.acme.example",
            "http://localhost.evil.example",
            "https://cdn.acme.example:99999/",
            "https://cdn.acme.example/my logo.png",
        ] {
            assert!(url_problem(bad).is_some(), "{bad}");
        }
    }
}
