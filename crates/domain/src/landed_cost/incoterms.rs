//! Incoterms 2020 and transport modes: who pays for what between seller and buyer.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The eleven Incoterms 2020 rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Incoterm {
    EXW,
    FCA,
    FAS,
    FOB,
    CFR,
    CIF,
    CPT,
    CIP,
    DAP,
    DPU,
    DDP,
}

/// Which costs the quote charges to the buyer on top of the goods; the rest the seller bears
/// (and has priced into the goods).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuyerCharges {
    pub freight: bool,
    pub insurance: bool,
    pub import_taxes: bool,
}

impl Incoterm {
    pub fn buyer_charges(self) -> BuyerCharges {
        use Incoterm::*;
        let (freight, insurance, import_taxes) = match self {
            // The buyer carries the main carriage and its risk.
            EXW | FCA | FAS | FOB => (true, true, true),
            // Seller pays carriage; risk passes at shipment, so insuring is the buyer's affair.
            CFR | CPT => (false, true, true),
            // Seller pays carriage and the minimum insurance.
            CIF | CIP => (false, false, true),
            // Delivered, but import clearance and its taxes are the buyer's.
            DAP | DPU => (false, false, true),
            DDP => (false, false, false),
        };
        BuyerCharges {
            freight,
            insurance,
            import_taxes,
        }
    }
}

impl fmt::Display for Incoterm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How goods travel; freight rates and some low-value regimes depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Air,
    Sea,
    Courier,
    Post,
}

impl TransportMode {
    pub fn parse(text: &str) -> Option<TransportMode> {
        match text {
            "air" => Some(TransportMode::Air),
            "sea" => Some(TransportMode::Sea),
            "courier" => Some(TransportMode::Courier),
            "post" => Some(TransportMode::Post),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TransportMode::Air => "air",
            TransportMode::Sea => "sea",
            TransportMode::Courier => "courier",
            TransportMode::Post => "post",
        }
    }
}

impl fmt::Display for TransportMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoterms_decide_what_the_buyer_is_charged() {
        let table = [
            ("EXW", true, true, true),
            ("FCA", true, true, true),
            ("FOB", true, true, true),
            ("CFR", false, true, true),
            ("CPT", false, true, true),
            ("CIF", false, false, true),
            ("CIP", false, false, true),
            ("DAP", false, false, true),
            ("DPU", false, false, true),
            ("DDP", false, false, false),
        ];
        for (name, freight, insurance, import_taxes) in table {
            let term: Incoterm = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(
                term.buyer_charges(),
                BuyerCharges {
                    freight,
                    insurance,
                    import_taxes
                },
                "{name}"
            );
            assert_eq!(term.to_string(), name);
        }
        let err = serde_json::from_str::<Incoterm>("\"XYZ\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }
}
