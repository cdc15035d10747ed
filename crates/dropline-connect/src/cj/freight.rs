//! Shipping quotes: the `data` of `POST /logistic/freightCalculate`,
//! `/logistic/freightCalculateTip` and `/logistic/partnerFreightCalculate`.
//!
//! CJ prices in USD and, beside it, in CNY (`…Cn` / `…CNY` fields); both are read exactly.
//! Every quote list is read whole: one bad quote fails the response, naming `data[i].field`.

use super::envelope::{self, CjError};
use super::values::{self, DayRange, Fields};
use dropline_domain::money::{Currency, Money};
use serde_json::Value;

fn usd() -> Currency {
    Currency::parse("USD").unwrap_or_else(|_| unreachable!("USD is an ISO 4217 code"))
}

fn cny() -> Currency {
    Currency::parse("CNY").unwrap_or_else(|_| unreachable!("CNY is an ISO 4217 code"))
}

/// One shipping method quoted by `freightCalculate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightQuote {
    /// CJ's method name (`logisticName`), the value `createOrder` takes as `logisticName`.
    pub logistic_name: String,
    /// `logisticPrice`, in USD.
    pub price: Money,
    /// `logisticPriceCn`, in CNY, when given.
    pub price_cny: Option<Money>,
    /// `logisticAging`: delivery time in days, when given.
    pub aging: Option<DayRange>,
}

/// Reads a `freightCalculate` response body.
pub fn parse_freight_calculate(body: &[u8]) -> Result<Vec<FreightQuote>, CjError> {
    let items: Vec<Value> = envelope::parse(body)?;
    values::each(&items, |item| {
        Ok(FreightQuote {
            logistic_name: item.required_text("logisticName")?,
            price: item.required_money("logisticPrice", usd())?,
            price_cny: item.money("logisticPriceCn", cny())?,
            aging: item.days("logisticAging")?,
        })
    })
}

/// A country as `freightCalculateTip` names it (`srcArea` / `destArea`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// ISO alpha-2 code (`shortCode`).
    pub country_code: String,
    /// English name (`enName`), when given.
    pub name: Option<String>,
}

/// A check CJ applies to the order for this method (`ruleTips[]`), e.g. on the phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTip {
    /// What is checked (`type`, e.g. `phone`).
    pub kind: String,
    /// The pattern the value must match (`expression`), when given.
    pub pattern: Option<String>,
    /// CJ's code for the message (`msgCode`), when given.
    pub message_code: Option<String>,
    /// The English explanation (`msgEn`), when given.
    pub message: Option<String>,
}

/// One shipping option quoted by `freightCalculateTip`. CJ does not document how its fee
/// fields add up, so each is kept as CJ gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightTip {
    /// CJ's id of the option (`optionId`, else `option.id`).
    pub option_id: String,
    /// English name of the option (`option.enName`).
    pub logistic_name: String,
    /// Chinese name of the option (`option.cnName`), when given.
    pub logistic_name_cn: Option<String>,
    /// Delivery time in days (`arrivalTime`, else `option.arrivalTime`), when given.
    pub arrival: Option<DayRange>,
    /// `postage`, in USD.
    pub postage: Money,
    /// `postageCNY`, in CNY, when given.
    pub postage_cny: Option<Money>,
    /// `discountFee`, in USD, when given.
    pub discount_fee: Option<Money>,
    /// `discountFeeCNY`, in CNY, when given.
    pub discount_fee_cny: Option<Money>,
    /// `wrapPostage`, in USD, when given.
    pub wrap_postage: Option<Money>,
    /// `wrapPostageCNY`, in CNY, when given.
    pub wrap_postage_cny: Option<Money>,
    /// `remoteFee`, in USD, when given.
    pub remote_fee: Option<Money>,
    /// `remoteFeeCNY`, in CNY, when given.
    pub remote_fee_cny: Option<Money>,
    /// Ship-from country (`srcArea`), when given.
    pub from: Option<Area>,
    /// Ship-to country (`destArea`), when given.
    pub to: Option<Area>,
    /// Why this option cannot be used (`errorEn`, else `error`), when CJ says so.
    pub error: Option<String>,
    /// A notice to show with the option (`message`), when given.
    pub notice: Option<String>,
    /// Checks on the order's data for this option (`ruleTips`).
    pub rule_tips: Vec<RuleTip>,
}

/// Reads a `freightCalculateTip` response body.
pub fn parse_freight_calculate_tip(body: &[u8]) -> Result<Vec<FreightTip>, CjError> {
    let items: Vec<Value> = envelope::parse(body)?;
    values::each(&items, read_tip)
}

fn read_tip(item: &Fields<'_>) -> Result<FreightTip, CjError> {
    let option = item.object("option")?;
    let option_text = |key: &str| option.as_ref().map(|o| o.text(key)).transpose().map(Option::flatten);
    let option_id = match item.text("optionId")? {
        Some(id) => id,
        None => option_text("id")?.ok_or_else(|| item.missing("optionId", "nor is there an option.id"))?,
    };
    let logistic_name = match option.as_ref() {
        Some(option) => option.required_text("enName")?,
        None => return Err(item.missing("option", "it names the shipping method")),
    };
    let arrival = match item.days("arrivalTime")? {
        Some(days) => Some(days),
        None => option.as_ref().map(|o| o.days("arrivalTime")).transpose()?.flatten(),
    };
    Ok(FreightTip {
        option_id,
        logistic_name,
        logistic_name_cn: option_text("cnName")?,
        arrival,
        postage: item.required_money("postage", usd())?,
        postage_cny: item.money("postageCNY", cny())?,
        discount_fee: item.money("discountFee", usd())?,
        discount_fee_cny: item.money("discountFeeCNY", cny())?,
        wrap_postage: item.money("wrapPostage", usd())?,
        wrap_postage_cny: item.money("wrapPostageCNY", cny())?,
        remote_fee: item.money("remoteFee", usd())?,
        remote_fee_cny: item.money("remoteFeeCNY", cny())?,
        from: item.object("srcArea")?.map(|a| read_area(&a)).transpose()?,
        to: item.object("destArea")?.map(|a| read_area(&a)).transpose()?,
        error: match item.text("errorEn")? {
            Some(text) => Some(text),
            None => item.text("error")?,
        },
        notice: item.text("message")?,
        rule_tips: item
            .objects("ruleTips")?
            .iter()
            .map(|tip| {
                Ok(RuleTip {
                    kind: tip.required_text("type")?,
                    pattern: tip.text("expression")?,
                    message_code: tip.text("msgCode")?,
                    message: tip.text("msgEn")?,
                })
            })
            .collect::<Result<_, CjError>>()?,
    })
}

fn read_area(area: &Fields<'_>) -> Result<Area, CjError> {
    Ok(Area {
        country_code: area.required_text("shortCode")?,
        name: area.text("enName")?,
    })
}

/// IOSS (EU import VAT) details of a partner quote (`iossList[]`); CJ sends empty strings
/// when there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IossCharge {
    /// `iossNumber`, when given.
    pub ioss_number: Option<String>,
    /// `iossType`, when given.
    pub ioss_type: Option<String>,
    /// `serviceAmount` (USD), when given.
    pub service_amount: Option<Money>,
    /// `taxAmount` (USD), when given.
    pub tax_amount: Option<Money>,
}

/// One shipping method quoted by `partnerFreightCalculate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerFreightQuote {
    /// CJ's short code of the method (`logisticsModel`, e.g. `YTGN`).
    pub logistics_code: String,
    /// The method's name (`logisticsName`).
    pub logistic_name: String,
    /// `postageAmount`, in USD.
    pub postage: Money,
    /// `arrivalTime`: delivery time in days, when given.
    pub arrival: Option<DayRange>,
    /// `isSupportIoss` (absent reads as false).
    pub supports_ioss: bool,
    /// `iossList`, without entries that are entirely empty.
    pub ioss: Vec<IossCharge>,
}

/// Reads a `partnerFreightCalculate` response body.
pub fn parse_partner_freight_calculate(body: &[u8]) -> Result<Vec<PartnerFreightQuote>, CjError> {
    let items: Vec<Value> = envelope::parse(body)?;
    values::each(&items, |item| {
        let mut ioss = Vec::new();
        for entry in item.objects("iossList")? {
            let charge = IossCharge {
                ioss_number: entry.text("iossNumber")?,
                ioss_type: entry.text("iossType")?,
                service_amount: entry.money("serviceAmount", usd())?,
                tax_amount: entry.money("taxAmount", usd())?,
            };
            let empty = IossCharge {
                ioss_number: None,
                ioss_type: None,
                service_amount: None,
                tax_amount: None,
            };
            if charge != empty {
                ioss.push(charge);
            }
        }
        Ok(PartnerFreightQuote {
            logistics_code: item.required_text("logisticsModel")?,
            logistic_name: item.required_text("logisticsName")?,
            postage: item.required_money("postageAmount", usd())?,
            arrival: item.days("arrivalTime")?,
            supports_ioss: item.flag("isSupportIoss")?.unwrap_or(false),
            ioss,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(data: Value) -> Vec<u8> {
        json!({"code": 200, "result": true, "message": "Success", "data": data, "requestId": "r"})
            .to_string()
            .into_bytes()
    }

    fn malformed(message: &str) -> CjError {
        CjError::Malformed(message.to_string())
    }

    #[test]
    fn freight_calculate_numbers_as_numbers_and_strings() {
        let body = ok(json!([
            {"logisticName": "USPS+", "logisticPrice": 25.30, "logisticPriceCn": "164.00", "logisticAging": "2-5"},
            {"logisticName": "PostNL", "logisticPrice": "7", "logisticAging": 9},
        ]));
        assert_eq!(
            parse_freight_calculate(&body),
            Ok(vec![
                FreightQuote {
                    logistic_name: "USPS+".into(),
                    price: Money::new(2530, usd()),
                    price_cny: Some(Money::new(16400, cny())),
                    aging: Some(DayRange { min: 2, max: 5 }),
                },
                FreightQuote {
                    logistic_name: "PostNL".into(),
                    price: Money::new(700, usd()),
                    price_cny: None,
                    aging: Some(DayRange { min: 9, max: 9 }),
                },
            ])
        );
    }

    #[test]
    fn freight_calculate_refuses_bad_quotes() {
        let negative = ok(json!([{"logisticName": "USPS+", "logisticPrice": -4.71, "logisticAging": "2-5"}]));
        assert_eq!(
            parse_freight_calculate(&negative),
            Err(malformed("data[0].logisticPrice: -4.71 is a negative amount"))
        );
        let no_price = ok(json!([{"logisticName": "A", "logisticPrice": 1}, {"logisticName": "B"}]));
        assert_eq!(
            parse_freight_calculate(&no_price),
            Err(malformed("data[1].logisticPrice: missing"))
        );
        let no_name = ok(json!([{"logisticName": "", "logisticPrice": 1}]));
        assert_eq!(
            parse_freight_calculate(&no_name),
            Err(malformed("data[0].logisticName: missing"))
        );
        let bad_aging = ok(json!([{"logisticName": "A", "logisticPrice": 1, "logisticAging": "soon"}]));
        assert!(
            matches!(parse_freight_calculate(&bad_aging), Err(CjError::Malformed(m)) if m.starts_with("data[0].logisticAging:"))
        );
        assert!(
            matches!(parse_freight_calculate(&ok(json!({}))), Err(CjError::Malformed(m)) if m.starts_with("data:"))
        );
        assert_eq!(
            parse_freight_calculate(&ok(json!([5]))),
            Err(malformed("data[0]: a number is not an object"))
        );
        assert_eq!(parse_freight_calculate(&ok(json!([]))), Ok(vec![]));
    }

    #[test]
    fn freight_calculate_passes_cj_errors_through() {
        let body = br#"{"code":1600001,"result":false,"message":"Invalid API key or access token","data":null}"#;
        assert!(parse_freight_calculate(body).is_err_and(|e| e.needs_new_token()));
    }

    #[test]
    fn tip_minimal_and_bad() {
        let body = ok(json!([{"option": {"id": "9", "enName": "CJPacket"}, "postage": "1.5"}]));
        let tips = parse_freight_calculate_tip(&body).expect("tips");
        assert_eq!(tips[0].option_id, "9");
        assert_eq!(tips[0].postage, Money::new(150, usd()));
        assert_eq!(tips[0].arrival, None);
        assert!(tips[0].rule_tips.is_empty() && tips[0].from.is_none() && tips[0].error.is_none());

        let no_option = ok(json!([{"optionId": "9", "postage": 1}]));
        assert!(
            matches!(parse_freight_calculate_tip(&no_option), Err(CjError::Malformed(m)) if m == "data[0].option: missing (it names the shipping method)")
        );
        let negative = ok(json!([{"option": {"id": "9", "enName": "X"}, "postage": 1, "remoteFee": "-0.50"}]));
        assert_eq!(
            parse_freight_calculate_tip(&negative),
            Err(malformed("data[0].remoteFee: -0.50 is a negative amount"))
        );
        let bad_tip = ok(json!([{"option": {"id": "9", "enName": "X"}, "postage": 1, "ruleTips": [{"msgEn": "x"}]}]));
        assert_eq!(
            parse_freight_calculate_tip(&bad_tip),
            Err(malformed("data[0].ruleTips[0].type: missing"))
        );
    }

    #[test]
    fn partner_quote_with_ioss_and_bad_values() {
        let body = ok(json!([{
            "postageAmount": "2.10", "logisticsModel": "M", "logisticsName": "Name", "arrivalTime": "3-8",
            "isSupportIoss": true,
            "iossList": [{"iossNumber": "IM123", "iossType": "1", "serviceAmount": 0.5, "taxAmount": "1.20"}]
        }]));
        assert_eq!(
            parse_partner_freight_calculate(&body),
            Ok(vec![PartnerFreightQuote {
                logistics_code: "M".into(),
                logistic_name: "Name".into(),
                postage: Money::new(210, usd()),
                arrival: Some(DayRange { min: 3, max: 8 }),
                supports_ioss: true,
                ioss: vec![IossCharge {
                    ioss_number: Some("IM123".into()),
                    ioss_type: Some("1".into()),
                    service_amount: Some(Money::new(50, usd())),
                    tax_amount: Some(Money::new(120, usd())),
                }],
            }])
        );
        let negative = ok(json!([{"postageAmount": -1, "logisticsModel": "M", "logisticsName": "N"}]));
        assert_eq!(
            parse_partner_freight_calculate(&negative),
            Err(malformed("data[0].postageAmount: -1 is a negative amount"))
        );
        let bad_flag =
            ok(json!([{"postageAmount": 1, "logisticsModel": "M", "logisticsName": "N", "isSupportIoss": 1}]));
        assert_eq!(
            parse_partner_freight_calculate(&bad_flag),
            Err(malformed("data[0].isSupportIoss: a number is not a boolean"))
        );
    }
}
