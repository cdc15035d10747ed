//! `dropline address check`: the validation findings of an address, stored nowhere.

use crate::output;
use clap::{Args, Subcommand};
use dropline_domain::address::Address;
use dropline_domain::validation::{Finding, validate_address};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AddressCommand {
    /// Print what validation finds in an address; exit code 1 when it has errors
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ISO 3166-1 alpha-2 country code (US, FR, GB, ...)
    #[arg(long)]
    country: String,
    #[arg(long, default_value = "")]
    postal_code: String,
    /// State, province or region (CA, NSW, SP, ...)
    #[arg(long)]
    region: Option<String>,
    #[arg(long, default_value = "")]
    city: String,
    #[arg(long, default_value = "")]
    address1: String,
    #[arg(long)]
    address2: Option<String>,
    #[arg(long)]
    company: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    /// The recipient's first name (the name is checked only when one is given)
    #[arg(long)]
    first_name: Option<String>,
    /// The recipient's last name
    #[arg(long)]
    last_name: Option<String>,
}

pub fn run(command: AddressCommand, json: bool) -> anyhow::Result<ExitCode> {
    let AddressCommand::Check(args) = command;
    let findings = check(&args);
    let errors = findings.iter().filter(|f| f.is_error()).count();
    if json {
        output::print_json(&json!({ "valid": errors == 0, "findings": findings }))?;
    } else if findings.is_empty() {
        println!("the address looks deliverable: no errors, no warnings");
    } else {
        let mut table = output::table(["SEVERITY", "FIELD", "CODE", "MESSAGE"]);
        for finding in &findings {
            let severity = if finding.is_error() { "error" } else { "warning" };
            table.add_row([severity, &finding.field, &finding.code, &finding.message]);
        }
        println!("{table}");
        let warnings = findings.len() - errors;
        println!("{errors} error(s), {warnings} warning(s)");
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The findings; the name is only checked when the caller gave one, since this command is
/// about where a parcel goes.
fn check(args: &CheckArgs) -> Vec<Finding> {
    let name_given = args.first_name.is_some() || args.last_name.is_some();
    let address = Address {
        first_name: args.first_name.clone().unwrap_or_default(),
        last_name: args.last_name.clone().unwrap_or_default(),
        company: args.company.clone(),
        address1: args.address1.clone(),
        address2: args.address2.clone(),
        city: args.city.clone(),
        region: args.region.clone(),
        postal_code: args.postal_code.clone(),
        country_code: args.country.clone(),
        phone: args.phone.clone(),
    };
    validate_address(&address)
        .into_iter()
        .filter(|finding| name_given || !matches!(finding.field.as_str(), "first_name" | "last_name"))
        .collect()
}
