//! Every threshold the rules use, with the product's defaults, and the rule-set version derived
//! from them (so a result always says which rules produced it).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::types::{hex0x, parse_addr, Addr};

/// Bumped whenever rule logic changes in a way thresholds do not capture.
pub const RULESET_REVISION: u32 = 3;

/// Thresholds of every rule. `Default` gives the product's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleConfig {
    /// Decimals assumed for a token without an entry in `token_decimals`.
    pub default_decimals: u8,
    /// Decimals per token (the default dust threshold is one whole token unit).
    #[serde(serialize_with = "ser_addr_map", deserialize_with = "de_decimals")]
    pub token_decimals: BTreeMap<Addr, u8>,
    /// Dust threshold per token in base units, overriding one token unit. Transfers strictly below
    /// the threshold create no funding edge and carry no taint.
    #[serde(serialize_with = "ser_dust", deserialize_with = "de_dust")]
    pub dust_overrides: BTreeMap<Addr, u128>,
    /// Dust threshold of native-currency (gas) transfers, in wei. Native transfers are funding edges
    /// (first funder, clusters, funding links) but never token provenance.
    pub native_dust_wei: u64,
    /// A funder with at least this many distinct funded wallets is a hub: it links nobody and is
    /// removed from funding clusters, like an exchange.
    pub hub_min_children: usize,
    /// self_dealing: payer and payee within this many funding hops.
    pub max_funding_hops: usize,
    /// self_dealing: share of the spent tokens that came from the payee or its declared wallets (at
    /// any depth), FIFO or pro rata, for the payment and for the pair so far.
    pub payee_origin_min_share: f64,
    /// self_dealing: share of the amount flowing back from payee to payer.
    pub flow_back_min_share: f64,
    /// self_dealing: how long after the payment a return counts, in seconds; 0 = the pair's
    /// lifetime.
    pub flow_back_window_secs: i64,
    /// self_dealing: longest flow-back path with any amounts, in transfers.
    pub flow_back_max_hops: usize,
    /// self_dealing: longest flow-back path whose amounts are conserved hop to hop, in transfers.
    pub flow_back_conserved_max_hops: usize,
    /// self_dealing: a hop conserves the amount when it passes on at least (1 - this) of what the
    /// previous hop brought.
    pub flow_back_conserve_tolerance: f64,
    /// self_dealing: a multi-hop return path must happen within this many seconds.
    pub flow_back_path_window_secs: i64,
    /// project_funded: FIFO share of spent tokens from ecosystem wallets.
    pub project_min_share: f64,
    /// suspected_sybil: smallest group of cluster members paying the same payee.
    pub sybil_min_members: usize,
    /// suspected_sybil: share of members whose usual amount is the group's usual amount.
    pub sybil_same_amount_share: f64,
    /// suspected_sybil: length of the window in which members started paying, in seconds.
    pub sybil_start_window_secs: i64,
    /// suspected_sybil: share of members that started within that window.
    pub sybil_start_share: f64,
    /// suspected_sybil: largest coefficient of variation of members' payment counts.
    pub sybil_count_cv_max: f64,
    /// suspected_sybil: how many of the five criteria must hold.
    pub sybil_min_criteria: usize,
    /// suspected_sybil criterion `fan_out`: one funder funded at least this many of the cluster's
    /// paying wallets, directly or through wallets of the cluster that never pay (relays).
    pub sybil_fan_out: usize,
    /// suspected_sybil criterion `captive_payee`: the group is at least this share of the payee's
    /// distinct payers...
    pub sybil_captive_share: f64,
    /// ...and at least this many wallets.
    pub sybil_captive_min_members: usize,
    /// suspected_sybil: a cluster with this many paying wallets (across all payees) is suspected
    /// whatever the criteria.
    pub sybil_large_cluster: usize,
    /// Evidence: longest first-funder path reported for a payer.
    pub evidence_path_hops: usize,
    /// Evidence: most flow-back paths / provenance sources listed.
    pub evidence_max_items: usize,
}

impl Default for RuleConfig {
    fn default() -> Self {
        RuleConfig {
            default_decimals: 6,
            token_decimals: BTreeMap::new(),
            dust_overrides: BTreeMap::new(),
            native_dust_wei: 100_000_000_000_000,
            hub_min_children: 500,
            max_funding_hops: 2,
            payee_origin_min_share: 0.5,
            flow_back_min_share: 0.5,
            flow_back_window_secs: 0,
            flow_back_max_hops: 3,
            flow_back_conserved_max_hops: 6,
            flow_back_conserve_tolerance: 0.1,
            flow_back_path_window_secs: 24 * 3600,
            project_min_share: 0.5,
            sybil_min_members: 5,
            sybil_same_amount_share: 0.8,
            sybil_start_window_secs: 30 * 60,
            sybil_start_share: 0.7,
            sybil_count_cv_max: 0.5,
            sybil_min_criteria: 2,
            sybil_fan_out: 10,
            sybil_captive_share: 0.5,
            sybil_captive_min_members: 10,
            sybil_large_cluster: 20,
            evidence_path_hops: 6,
            evidence_max_items: 5,
        }
    }
}

fn ser_addr_map<S: serde::Serializer, V: Serialize>(
    m: &BTreeMap<Addr, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(&hex0x(k), v)?;
    }
    map.end()
}

fn ser_dust<S: serde::Serializer>(m: &BTreeMap<Addr, u128>, s: S) -> Result<S::Ok, S::Error> {
    let as_text: BTreeMap<Addr, String> = m.iter().map(|(k, v)| (*k, v.to_string())).collect();
    ser_addr_map(&as_text, s)
}

fn de_decimals<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Addr, u8>, D::Error> {
    let raw: BTreeMap<String, u8> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            Ok((
                parse_addr(&k, "token_decimals").map_err(serde::de::Error::custom)?,
                v,
            ))
        })
        .collect()
}

fn de_dust<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Addr, u128>, D::Error> {
    // Amounts as strings: TOML integers stop at 2^63.
    let raw: BTreeMap<String, String> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let a = parse_addr(&k, "dust_overrides").map_err(serde::de::Error::custom)?;
            let n = v.parse::<u128>().map_err(|e| {
                serde::de::Error::custom(format!(
                    "dust_overrides.{k}: `{v}` is not a base-unit amount ({e})"
                ))
            })?;
            Ok((a, n))
        })
        .collect()
}

impl RuleConfig {
    /// The defaults, or the thresholds of the TOML file at `path` (the `--rules` option).
    pub fn load(path: Option<&std::path::Path>) -> Result<RuleConfig, String> {
        let Some(path) = path else {
            return Ok(RuleConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read rules file {}: {e}", path.display()))?;
        RuleConfig::from_toml(&text).map_err(|e| format!("rules file {}: {e}", path.display()))
    }

    /// Reads thresholds from a TOML file; missing keys keep their defaults.
    pub fn from_toml(text: &str) -> Result<RuleConfig, String> {
        let cfg: RuleConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The dust threshold of `token` in base units.
    pub fn dust_threshold(&self, token: &Addr) -> u128 {
        if let Some(d) = self.dust_overrides.get(token) {
            return *d;
        }
        let decimals = self
            .token_decimals
            .get(token)
            .copied()
            .unwrap_or(self.default_decimals);
        10u128.checked_pow(decimals as u32).unwrap_or(u128::MAX)
    }

    /// `r<revision>-<12 hex digits of the SHA-256 of the thresholds>`: equal strings mean equal
    /// rules, so results computed under different settings are never mixed up.
    pub fn version(&self) -> String {
        let json = serde_json::to_vec(self).expect("RuleConfig serializes");
        let digest = Sha256::digest(&json);
        format!("r{RULESET_REVISION}-{}", &hex::encode(digest)[..12])
    }

    /// Checks that every threshold makes sense; the error names the field and why.
    pub fn validate(&self) -> Result<(), String> {
        let share = |v: f64, name: &str| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be between 0 and 1, got {v}"))
            }
        };
        share(self.flow_back_min_share, "flow_back_min_share")?;
        share(self.project_min_share, "project_min_share")?;
        share(self.sybil_same_amount_share, "sybil_same_amount_share")?;
        share(self.sybil_start_share, "sybil_start_share")?;
        share(self.payee_origin_min_share, "payee_origin_min_share")?;
        share(self.sybil_captive_share, "sybil_captive_share")?;
        if !(0.0..1.0).contains(&self.flow_back_conserve_tolerance) {
            return Err(format!(
                "flow_back_conserve_tolerance must be at least 0 and below 1, got {}",
                self.flow_back_conserve_tolerance
            ));
        }
        if self.flow_back_conserved_max_hops > 12 || self.flow_back_max_hops > 12 {
            return Err(
                "flow_back_max_hops and flow_back_conserved_max_hops must be at most 12".into(),
            );
        }
        if self.max_funding_hops == 0 {
            return Err("max_funding_hops must be at least 1".into());
        }
        if self.flow_back_max_hops == 0 {
            return Err("flow_back_max_hops must be at least 1".into());
        }
        if self.hub_min_children < 2 {
            return Err("hub_min_children must be at least 2".into());
        }
        if self.sybil_min_criteria > 5 {
            return Err("sybil_min_criteria must be at most 5 (there are five criteria)".into());
        }
        if self.sybil_min_members < 2 {
            return Err("sybil_min_members must be at least 2".into());
        }
        if self.flow_back_window_secs < 0
            || self.sybil_start_window_secs < 0
            || self.flow_back_path_window_secs < 0
        {
            return Err("windows must not be negative".into());
        }
        if self.sybil_count_cv_max < 0.0 {
            return Err("sybil_count_cv_max must not be negative".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_changes_with_any_threshold() {
        let a = RuleConfig::default();
        let mut b = a.clone();
        b.hub_min_children = 499;
        assert_ne!(a.version(), b.version());
        assert_eq!(a.version(), RuleConfig::default().version());
        assert!(a.version().starts_with("r3-"));
    }

    #[test]
    fn dust_defaults_to_one_token_unit() {
        let mut c = RuleConfig::default();
        let t = [7u8; 20];
        assert_eq!(c.dust_threshold(&t), 1_000_000);
        c.token_decimals.insert(t, 18);
        assert_eq!(c.dust_threshold(&t), 10u128.pow(18));
        c.dust_overrides.insert(t, 5);
        assert_eq!(c.dust_threshold(&t), 5);
    }

    #[test]
    fn reads_toml_overrides() {
        let c = RuleConfig::from_toml(
            "hub_min_children = 100\n[token_decimals]\n\"0x0707070707070707070707070707070707070707\" = 18\n[dust_overrides]\n\"0x0808080808080808080808080808080808080808\" = \"5\"\n",
        )
        .unwrap();
        assert_eq!(c.hub_min_children, 100);
        assert_eq!(c.dust_threshold(&[7; 20]), 10u128.pow(18));
        assert_eq!(c.dust_threshold(&[8; 20]), 5);
        assert_eq!(c.max_funding_hops, 2);
        assert!(RuleConfig::from_toml("hub_min_childs = 1")
            .unwrap_err()
            .contains("hub_min_childs"));
        assert!(RuleConfig::from_toml("project_min_share = 2.0")
            .unwrap_err()
            .contains("project_min_share"));
    }

    #[test]
    fn validate_names_the_field() {
        let c = RuleConfig {
            project_min_share: 1.5,
            ..RuleConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("project_min_share"));
        let c = RuleConfig {
            flow_back_conserve_tolerance: 1.0,
            ..RuleConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .contains("flow_back_conserve_tolerance"));
        let c = RuleConfig {
            sybil_captive_share: -0.1,
            ..RuleConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("sybil_captive_share"));
        let c = RuleConfig::from_toml("native_dust_wei = 1000\nflow_back_window_secs = 604800\n")
            .unwrap();
        assert_eq!(
            (c.native_dust_wei, c.flow_back_window_secs),
            (1000, 604_800)
        );
    }
}
