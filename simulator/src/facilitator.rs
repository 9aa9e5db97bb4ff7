//! The resource server's side of x402: talking to a running facilitator over HTTP
//! (`/supported`, `/verify`, `/settle`, `/escrow/*`), exactly as a provider would. Requests and
//! answers are `x402-protocol`'s types, the ones the facilitator itself reads and writes.

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use x402_protocol::{
    CaptureRequest, EscrowResponse, PaymentPayload, PaymentRequest, PaymentRequirements,
    SettleResponse, SupportedResponse, VerifyResponse, VoidRequest,
};

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
        let s: SupportedResponse = f.get("/supported").await?;
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
        body: &impl Serialize,
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
    ) -> Result<VerifyResponse, FacilitatorError> {
        self.post("/verify", &payment_request(payload, req, None, None))
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
        self.post("/settle", &payment_request(payload, req, evidence, amount))
            .await
    }

    /// `POST /escrow/authorize`.
    pub async fn authorize(
        &self,
        payload: &PaymentPayload,
        req: &PaymentRequirements,
    ) -> Result<SettleResponse, FacilitatorError> {
        self.post(
            "/escrow/authorize",
            &payment_request(payload, req, None, None),
        )
        .await
    }

    /// `POST /escrow/capture`.
    pub async fn capture(
        &self,
        id: B256,
        amount: U256,
        evidence: B256,
    ) -> Result<EscrowResponse, FacilitatorError> {
        let body = CaptureRequest {
            payment_id: id,
            amount,
            evidence_hash: evidence,
        };
        self.post("/escrow/capture", &body).await
    }

    /// `POST /escrow/void`.
    pub async fn void(&self, id: B256) -> Result<EscrowResponse, FacilitatorError> {
        self.post("/escrow/void", &VoidRequest { payment_id: id })
            .await
    }
}

/// The body of `/verify`, `/settle` and `/escrow/authorize` (x402 version 2).
fn payment_request(
    payload: &impl Serialize,
    req: &impl Serialize,
    evidence_hash: Option<B256>,
    amount: Option<U256>,
) -> PaymentRequest {
    PaymentRequest {
        x402_version: Some(2),
        payment_payload: serde_json::to_value(payload).expect("a payment payload serializes"),
        payment_requirements: serde_json::to_value(req).expect("payment requirements serialize"),
        evidence_hash,
        amount,
    }
}
