//! The resource server's side of x402: talking to a running facilitator over HTTP
//! (`/supported`, `/verify`, `/settle`, `/escrow/*`), exactly as a provider would.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use serde_json::json;
use x402_client::header::{PaymentPayload, SettleResponse};
use x402_client::requirements::PaymentRequirements;

/// Why talking to the facilitator failed (refusals are answers, not errors).
#[derive(Debug, thiserror::Error)]
pub enum FacilitatorError {
    /// No answer.
    #[error("facilitator at {url}: {message}")]
    Unreachable {
        /// Its URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An answer that is not the expected JSON.
    #[error("facilitator at {url} answered {path} with HTTP {status}: {body}")]
    BadAnswer {
        /// Its URL.
        url: String,
        /// The endpoint.
        path: String,
        /// HTTP status.
        status: u16,
        /// The body (shortened).
        body: String,
    },
}

/// `/verify`'s answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyAnswer {
    /// Whether the payment may be accepted.
    pub is_valid: bool,
    /// Failure code.
    #[serde(default)]
    pub invalid_reason: Option<String>,
    /// Failure detail.
    #[serde(default)]
    pub invalid_message: Option<String>,
}

/// `/escrow/capture` and `/escrow/void` answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscrowAnswer {
    /// Whether it happened.
    pub success: bool,
    /// Failure code.
    #[serde(default)]
    pub error_reason: Option<String>,
    /// Failure detail.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Amount moved (decimal).
    #[serde(default)]
    pub amount: Option<String>,
}

#[derive(Deserialize)]
struct Supported {
    signers: std::collections::BTreeMap<String, Vec<Address>>,
}

/// A facilitator service.
#[derive(Debug, Clone)]
pub struct Facilitator {
    http: reqwest::Client,
    /// Base URL.
    pub url: String,
    /// The address it settles as (from `/supported`).
    pub address: Address,
}

impl Facilitator {
    /// Connects and learns the facilitator's address from `GET /supported`.
    pub async fn connect(url: &str) -> Result<Self, FacilitatorError> {
        let url = url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| FacilitatorError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let mut f = Self {
            http,
            url,
            address: Address::ZERO,
        };
        let s: Supported = f.get("/supported").await?;
        f.address = s
            .signers
            .values()
            .flatten()
            .next()
            .copied()
            .ok_or_else(|| FacilitatorError::BadAnswer {
                url: f.url.clone(),
                path: "/supported".into(),
                status: 200,
                body: "no signer address".into(),
            })?;
        Ok(f)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, FacilitatorError> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.decode(path, r).await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, FacilitatorError> {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.decode(path, r).await
    }

    fn unreachable(&self, e: reqwest::Error) -> FacilitatorError {
        FacilitatorError::Unreachable {
            url: self.url.clone(),
            message: format!("{e} (is x402-facilitator running?)"),
        }
    }

    async fn decode<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        r: reqwest::Response,
    ) -> Result<T, FacilitatorError> {
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| self.unreachable(e))?;
        serde_json::from_str(&text).map_err(|_| FacilitatorError::BadAnswer {
            url: self.url.clone(),
            path: path.into(),
            status,
            body: text.chars().take(300).collect(),
        })
    }

    /// `POST /verify` of a payment payload (ours, or a standard EIP-3009 one) for `req`.
    pub async fn verify(
        &self,
        payload: &impl Serialize,
        req: &impl Serialize,
    ) -> Result<VerifyAnswer, FacilitatorError> {
        self.post(
            "/verify",
            &json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req}),
        )
        .await
    }

    /// `POST /settle` with the evidence of the work (`None` when the payload carries it in its
    /// `evidence` extension, as a standard x402 payload does) and, for `upto`, the amount used.
    pub async fn settle(
        &self,
        payload: &impl Serialize,
        req: &impl Serialize,
        evidence: Option<B256>,
        amount: Option<U256>,
    ) -> Result<SettleResponse, FacilitatorError> {
        let mut body =
            json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req});
        if let Some(e) = evidence {
            body["evidenceHash"] = json!(e);
        }
        if let Some(a) = amount {
            body["amount"] = json!(a.to_string());
        }
        self.post("/settle", &body).await
    }

    /// `POST /escrow/authorize`.
    pub async fn authorize(
        &self,
        payload: &PaymentPayload,
        req: &PaymentRequirements,
    ) -> Result<SettleResponse, FacilitatorError> {
        self.post(
            "/escrow/authorize",
            &json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": req}),
        )
        .await
    }

    /// `POST /escrow/capture`.
    pub async fn capture(
        &self,
        id: B256,
        amount: U256,
        evidence: B256,
    ) -> Result<EscrowAnswer, FacilitatorError> {
        self.post(
            "/escrow/capture",
            &json!({"paymentId": id, "amount": amount.to_string(), "evidenceHash": evidence}),
        )
        .await
    }

    /// `POST /escrow/void`.
    pub async fn void(&self, id: B256) -> Result<EscrowAnswer, FacilitatorError> {
        self.post("/escrow/void", &json!({"paymentId": id})).await
    }
}
