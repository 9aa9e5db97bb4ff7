//! The evidence hash of one inference.
//!
//! Encoding (EIP-712 `hashStruct`, so any EIP-712 library or Solidity reproduces it):
//!
//! ```text
//! InferenceEvidence(bytes32 requestHash,bytes32 responseHash,string modelId,bytes attestation)
//!
//! evidenceHash = keccak256(abi.encode(
//!     keccak256("InferenceEvidence(bytes32 requestHash,bytes32 responseHash,string modelId,bytes attestation)"),
//!     requestHash,
//!     responseHash,
//!     keccak256(bytes(modelId)),
//!     keccak256(attestation)            // empty bytes when there is no attestation
//! ))
//! ```
//!
//! `requestHash` is the same value the payer signed in `PaymentTerms.requestHash`; `responseHash`
//! is the provider's hash of the response it returned. The type hash keeps an evidence hash from
//! ever equalling some other 4-word hash.

use alloy::primitives::{Bytes, B256};
use alloy::sol_types::SolStruct;

use x402_protocol::eip712::InferenceEvidence;

/// What a provider commits to for one inference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Hash of the request, as signed in the payment's witness.
    pub request_hash: B256,
    /// Hash of the response the provider returned.
    pub response_hash: B256,
    /// The model that answered (e.g. "llama-3.1-8b-instruct").
    pub model_id: String,
    /// An attestation (TEE quote, signature, ...) or empty.
    pub attestation: Bytes,
}

impl Evidence {
    /// The evidence hash recorded on-chain for this inference.
    pub fn hash(&self) -> B256 {
        evidence_hash(
            self.request_hash,
            self.response_hash,
            &self.model_id,
            &self.attestation,
        )
    }
}

/// The evidence hash (see the module docs for the exact encoding).
pub fn evidence_hash(
    request_hash: B256,
    response_hash: B256,
    model_id: &str,
    attestation: &[u8],
) -> B256 {
    InferenceEvidence {
        requestHash: request_hash,
        responseHash: response_hash,
        modelId: model_id.to_owned(),
        attestation: Bytes::copy_from_slice(attestation),
    }
    .eip712_hash_struct()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;
    use alloy::sol_types::SolValue;

    #[test]
    fn matches_the_documented_encoding() {
        let (req, resp) = (keccak256(b"req"), keccak256(b"resp"));
        let type_hash =
            keccak256("InferenceEvidence(bytes32 requestHash,bytes32 responseHash,string modelId,bytes attestation)");
        let want = keccak256(
            (
                type_hash,
                req,
                resp,
                keccak256("model-x"),
                keccak256(b"quote"),
            )
                .abi_encode(),
        );
        assert_eq!(evidence_hash(req, resp, "model-x", b"quote"), want);
        let empty =
            keccak256((type_hash, req, resp, keccak256("model-x"), keccak256(b"")).abi_encode());
        assert_eq!(evidence_hash(req, resp, "model-x", b""), empty);
    }

    #[test]
    fn each_part_matters() {
        let e = Evidence {
            request_hash: keccak256(b"a"),
            response_hash: keccak256(b"b"),
            model_id: "m".into(),
            attestation: Bytes::new(),
        };
        let base = e.hash();
        let mut f = e.clone();
        f.request_hash = keccak256(b"a2");
        assert_ne!(f.hash(), base);
        let mut f = e.clone();
        f.response_hash = keccak256(b"b2");
        assert_ne!(f.hash(), base);
        let mut f = e.clone();
        f.model_id = "m2".into();
        assert_ne!(f.hash(), base);
        let mut f = e;
        f.attestation = Bytes::from_static(b"x");
        assert_ne!(f.hash(), base);
    }
}
