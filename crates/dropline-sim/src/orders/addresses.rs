//! Shipping addresses the generator draws from: real-looking places in ten countries, each
//! valid as dropline validates addresses (region where carriers need one, the country's
//! postal code format, a phone number of the country), and the ways customers get them
//! wrong.

use serde_json::{Value, json};

/// A street address of one country, without the recipient.
pub(crate) struct Place {
    pub address1: &'static str,
    pub address2: Option<&'static str>,
    pub city: &'static str,
    pub region: Option<&'static str>,
    pub postal_code: &'static str,
    pub phone: &'static str,
}

/// A country's places and the names of people who live there.
pub(crate) struct Country {
    pub code: &'static str,
    /// The ISO 3166-1 alpha-3 code, which customers and importers type by mistake.
    pub alpha3: &'static str,
    /// A postal code of the wrong shape for this country (a digit too few, half a code).
    pub bad_postal_code: &'static str,
    /// Whether dropline needs a region here (state, province, prefecture).
    pub region_required: bool,
    /// Whether dropline checks the region against a list of codes here.
    pub region_checked: bool,
    pub names: &'static [(&'static str, &'static str)],
    pub places: &'static [Place],
}

const fn place(
    address1: &'static str,
    address2: Option<&'static str>,
    city: &'static str,
    region: Option<&'static str>,
    postal_code: &'static str,
    phone: &'static str,
) -> Place {
    Place {
        address1,
        address2,
        city,
        region,
        postal_code,
        phone,
    }
}

// Phone numbers are in the ranges set aside for fiction where the country has one (US and
// Canada 555-01xx, UK 01xx 496 0xxx and 020 7946 0xxx, Australia 5550 xxxx).
pub(crate) const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        alpha3: "USA",
        bad_postal_code: "6270",
        region_required: true,
        region_checked: true,
        names: &[
            ("Ada", "Lovelace"),
            ("Marcus", "Reed"),
            ("Jenna", "Ortiz"),
            ("Tyler", "Brooks"),
            ("Keisha", "Williams"),
        ],
        places: &[
            place(
                "1847 Maple Avenue",
                Some("Apt 3B"),
                "Springfield",
                Some("IL"),
                "62704",
                "+1 217 555 0142",
            ),
            place(
                "742 Evergreen Terrace",
                None,
                "Portland",
                Some("OR"),
                "97205",
                "+1 503 555 0187",
            ),
            place(
                "88 Harbor Street",
                Some("Suite 210"),
                "Boston",
                Some("MA"),
                "02110-1301",
                "+1 617 555 0119",
            ),
            place(
                "4120 Sunset Boulevard",
                None,
                "Los Angeles",
                Some("CA"),
                "90029",
                "+1 323 555 0156",
            ),
            place(
                "2210 Peachtree Road NW",
                Some("Unit 7"),
                "Atlanta",
                Some("GA"),
                "30309",
                "+1 404 555 0133",
            ),
        ],
    },
    Country {
        code: "CA",
        alpha3: "CAN",
        bad_postal_code: "M5H",
        region_required: true,
        region_checked: true,
        names: &[
            ("Olivia", "Tremblay"),
            ("Liam", "Gagnon"),
            ("Chloé", "Roy"),
            ("Ethan", "MacDonald"),
        ],
        places: &[
            place(
                "221 King Street West",
                Some("Unit 1204"),
                "Toronto",
                Some("ON"),
                "M5H 1K5",
                "+1 416 555 0163",
            ),
            place(
                "1450 Rue Sainte-Catherine Ouest",
                None,
                "Montréal",
                Some("QC"),
                "H3G 1P4",
                "+1 514 555 0128",
            ),
            place(
                "905 Burrard Street",
                None,
                "Vancouver",
                Some("BC"),
                "V6Z 1X9",
                "+1 604 555 0171",
            ),
        ],
    },
    Country {
        code: "GB",
        alpha3: "GBR",
        bad_postal_code: "WC1N",
        region_required: false,
        region_checked: false,
        names: &[
            ("Oliver", "Smith"),
            ("Amelia", "Jones"),
            ("Harry", "Patel"),
            ("Isla", "Campbell"),
        ],
        places: &[
            place(
                "27 Old Gloucester Street",
                None,
                "London",
                None,
                "WC1N 3AX",
                "+44 20 7946 0321",
            ),
            place(
                "14 Deansgate",
                Some("Flat 5"),
                "Manchester",
                None,
                "M3 2BW",
                "+44 161 496 0753",
            ),
            place(
                "3 Princes Street",
                None,
                "Edinburgh",
                None,
                "EH2 2AN",
                "+44 131 496 0412",
            ),
        ],
    },
    Country {
        code: "DE",
        alpha3: "DEU",
        bad_postal_code: "1011",
        region_required: false,
        region_checked: false,
        names: &[
            ("Lukas", "Müller"),
            ("Anna", "Schmidt"),
            ("Jonas", "Weber"),
            ("Lea", "Fischer"),
        ],
        places: &[
            place("Friedrichstraße 123", None, "Berlin", None, "10117", "+49 30 12345678"),
            place(
                "Maximilianstraße 15",
                Some("3. OG"),
                "München",
                None,
                "80539",
                "+49 89 21234567",
            ),
            place("Königsallee 60", None, "Düsseldorf", None, "40212", "+49 211 5556789"),
        ],
    },
    Country {
        code: "FR",
        alpha3: "FRA",
        bad_postal_code: "7500",
        region_required: false,
        region_checked: false,
        names: &[
            ("Camille", "Martin"),
            ("Hugo", "Bernard"),
            ("Léa", "Dubois"),
            ("Louis", "Moreau"),
        ],
        places: &[
            place("12 Rue de Rivoli", None, "Paris", None, "75004", "+33 1 42 68 53 00"),
            place(
                "45 Quai Saint-Vincent",
                Some("Bâtiment B"),
                "Lyon",
                None,
                "69001",
                "+33 4 78 28 12 34",
            ),
            place("8 Cours Julien", None, "Marseille", None, "13006", "+33 4 91 55 12 34"),
        ],
    },
    Country {
        code: "AU",
        alpha3: "AUS",
        bad_postal_code: "200",
        region_required: true,
        region_checked: true,
        names: &[
            ("Jack", "Wilson"),
            ("Charlotte", "Nguyen"),
            ("Noah", "Taylor"),
            ("Mia", "Kelly"),
        ],
        places: &[
            place(
                "200 George Street",
                Some("Level 12"),
                "Sydney",
                Some("NSW"),
                "2000",
                "+61 2 5550 1234",
            ),
            place(
                "101 Collins Street",
                None,
                "Melbourne",
                Some("VIC"),
                "3000",
                "+61 3 5550 4321",
            ),
            place(
                "32 Adelaide Street",
                None,
                "Brisbane",
                Some("QLD"),
                "4000",
                "+61 7 5550 8765",
            ),
        ],
    },
    Country {
        code: "JP",
        alpha3: "JPN",
        bad_postal_code: "131-004",
        region_required: true,
        region_checked: false,
        names: &[
            ("Yuki", "Sato"),
            ("Haruto", "Suzuki"),
            ("Aoi", "Takahashi"),
            ("Ren", "Tanaka"),
        ],
        places: &[
            place(
                "1-1-2 Oshiage",
                Some("Sumida-ku"),
                "Tokyo",
                Some("Tokyo"),
                "131-0045",
                "+81 3-1234-5678",
            ),
            place(
                "2-4-1 Umeda",
                Some("Kita-ku"),
                "Osaka",
                Some("Osaka"),
                "530-0001",
                "+81 6-6345-6789",
            ),
            place(
                "丸の内一丁目9番1号",
                None,
                "千代田区",
                Some("東京都"),
                "100-0005",
                "+81 3-3212-1234",
            ),
        ],
    },
    Country {
        code: "BR",
        alpha3: "BRA",
        bad_postal_code: "01310",
        region_required: true,
        region_checked: false,
        names: &[
            ("João", "Silva"),
            ("Ana", "Santos"),
            ("Pedro", "Oliveira"),
            ("Beatriz", "Souza"),
        ],
        places: &[
            place(
                "Avenida Paulista, 1578",
                Some("Apto 52"),
                "São Paulo",
                Some("SP"),
                "01310-200",
                "+55 11 91234-5678",
            ),
            place(
                "Rua Visconde de Pirajá, 414",
                None,
                "Rio de Janeiro",
                Some("RJ"),
                "22410-002",
                "+55 21 98765-4321",
            ),
            place(
                "Avenida Afonso Pena, 1500",
                None,
                "Belo Horizonte",
                Some("MG"),
                "30130-921",
                "+55 31 99876-1234",
            ),
        ],
    },
    Country {
        code: "NL",
        alpha3: "NLD",
        bad_postal_code: "1012",
        region_required: false,
        region_checked: false,
        names: &[
            ("Daan", "de Jong"),
            ("Emma", "Jansen"),
            ("Sem", "de Vries"),
            ("Julia", "Bakker"),
        ],
        places: &[
            place("Damrak 70", None, "Amsterdam", None, "1012 LM", "+31 20 555 1234"),
            place(
                "Coolsingel 40",
                Some("2e verdieping"),
                "Rotterdam",
                None,
                "3011 AD",
                "+31 10 555 6789",
            ),
        ],
    },
    Country {
        code: "ES",
        alpha3: "ESP",
        bad_postal_code: "2801",
        region_required: true,
        region_checked: false,
        names: &[
            ("Lucía", "García"),
            ("Hugo", "Fernández"),
            ("Martina", "López"),
            ("Pablo", "Martínez"),
        ],
        places: &[
            place(
                "Calle Mayor 12",
                Some("3º B"),
                "Madrid",
                Some("M"),
                "28013",
                "+34 912 345 678",
            ),
            place(
                "Passeig de Gràcia 92",
                None,
                "Barcelona",
                Some("B"),
                "08008",
                "+34 932 123 456",
            ),
            place(
                "Calle Sierpes 48",
                None,
                "Sevilla",
                Some("SE"),
                "41004",
                "+34 954 123 456",
            ),
        ],
    },
];

/// How a customer's address goes wrong; each is an error for dropline's validation, so the
/// order is held with `invalid_address`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressFault {
    /// No state, province or prefecture where carriers need one.
    MissingRegion,
    /// A region that is not one of the country's (`ZZ`).
    UnknownRegion,
    /// A postal code of the wrong shape (a digit left out, half a code).
    BadPostalCode,
    /// The alpha-3 code (`USA`, `DEU`) or `UK` instead of the ISO alpha-2 code.
    UnknownCountry,
    /// The street line left empty.
    MissingStreet,
    /// The city left empty.
    MissingCity,
}

impl AddressFault {
    /// Every fault, in declaration order.
    pub const ALL: [AddressFault; 6] = [
        AddressFault::MissingRegion,
        AddressFault::UnknownRegion,
        AddressFault::BadPostalCode,
        AddressFault::UnknownCountry,
        AddressFault::MissingStreet,
        AddressFault::MissingCity,
    ];

    /// Whether the fault can be made in this country (a region can only be missing where one
    /// is required, and unknown where dropline knows the list).
    pub(crate) fn applies_to(self, country: &Country) -> bool {
        match self {
            AddressFault::MissingRegion => country.region_required,
            AddressFault::UnknownRegion => country.region_checked,
            _ => true,
        }
    }
}

/// The `shipping_address` JSON of a place, to `first_name last_name`, broken by `fault`.
pub(crate) fn address_json(
    country: &Country,
    place: &Place,
    (first_name, last_name): (&str, &str),
    company: Option<&str>,
    fault: Option<AddressFault>,
) -> Value {
    let mut address = json!({
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "address1": place.address1,
        "address2": place.address2,
        "city": place.city,
        "region": place.region,
        "postal_code": place.postal_code,
        "country_code": country.code,
        "phone": place.phone,
    });
    match fault {
        None => {}
        Some(AddressFault::MissingRegion) => address["region"] = Value::Null,
        Some(AddressFault::UnknownRegion) => address["region"] = json!("ZZ"),
        Some(AddressFault::BadPostalCode) => address["postal_code"] = json!(country.bad_postal_code),
        Some(AddressFault::UnknownCountry) => {
            address["country_code"] = json!(if country.code == "GB" { "UK" } else { country.alpha3 })
        }
        Some(AddressFault::MissingStreet) => address["address1"] = json!(""),
        Some(AddressFault::MissingCity) => address["city"] = json!(""),
    }
    address
}
