//! The payer's signature, as every payment kind checks it: recovered locally over the digest the
//! payer signed (an EOA's signature needs nothing of the chain), else asked of the payer's wallet
//! (EIP-1271) in the same batch as the payment's state reads.

use alloy::primitives::{Address, Signature, B256};

/// A signature recovered over the digest its payer should have signed.
#[derive(Debug, Clone, Copy)]
pub struct Recovered {
    signer: Option<Address>,
    payer: Address,
}

impl Recovered {
    /// Recovers `signature` over `digest` (no signer when it is not a valid ECDSA signature).
    pub fn over(signature: &[u8], digest: B256, payer: Address) -> Self {
        let signer = Signature::from_raw(signature)
            .ok()
            .and_then(|s| s.recover_address_from_prehash(&digest).ok());
        Self { signer, payer }
    }

    /// Whether it recovers to the payer: then its wallet need not be asked.
    pub fn by_payer(&self) -> bool {
        self.signer == Some(self.payer)
    }

    /// Whether the signature is the payer's, given what the chain says of the payer's wallet
    /// (its code, its EIP-1271 answer); else why not.
    pub fn check(
        &self,
        payer_is_contract: bool,
        erc1271_valid: Option<bool>,
    ) -> Result<(), String> {
        let wallet_ok = payer_is_contract && erc1271_valid == Some(true);
        if self.by_payer() || wallet_ok {
            return Ok(());
        }
        Err(match (payer_is_contract, self.signer) {
            (true, _) => "the payer's wallet (EIP-1271) rejected the signature".to_string(),
            (false, Some(other)) => {
                format!(
                    "the signature recovers to {other}, not the payer {}",
                    self.payer
                )
            }
            (false, None) => "the signature is not a valid 65-byte ECDSA signature".to_string(),
        })
    }
}
