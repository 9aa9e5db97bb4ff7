//! The batch evidence tree, as `X402Settlement.chargeBatch` documents and builds it, so the API
//! can hand out inclusion proofs for batched evidence.
//!
//! Leaves are `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))` of the
//! settled items in item order; each level pairs nodes (0,1), (2,3), ... hashed as
//! `keccak256(min(a,b) ++ max(a,b))`; an odd last node is carried up unchanged. The same
//! construction exists in the payer-side `x402-client` crate; it is repeated here (a few lines)
//! so the API does not depend on the signing stack.

use alloy_primitives::{keccak256, B256};

/// The leaf of `(paymentId, evidenceHash)` (the contract's `evidenceLeaf`).
pub fn evidence_leaf(payment_id: B256, evidence_hash: B256) -> B256 {
    let mut enc = [0u8; 64];
    enc[..32].copy_from_slice(payment_id.as_slice());
    enc[32..].copy_from_slice(evidence_hash.as_slice());
    keccak256(keccak256(enc))
}

/// OpenZeppelin's commutative keccak of two nodes.
fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// A built tree with every level kept.
#[derive(Debug, Clone)]
pub struct EvidenceTree {
    levels: Vec<Vec<B256>>,
}

impl EvidenceTree {
    /// Builds the tree over `(paymentId, evidenceHash)` items in order.
    pub fn from_items(items: &[(B256, B256)]) -> Self {
        let mut levels = vec![items
            .iter()
            .map(|(p, e)| evidence_leaf(*p, *e))
            .collect::<Vec<_>>()];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("non-empty");
            let above = below
                .chunks(2)
                .map(|pair| {
                    if let [a, b] = pair {
                        hash_pair(*a, *b)
                    } else {
                        pair[0]
                    }
                })
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The root (zero for no items, as the contract emits).
    pub fn root(&self) -> B256 {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(B256::ZERO)
    }

    /// Siblings from leaf `index` to the root; levels where the node is carried up add nothing.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.levels[0].len() {
            return None;
        }
        let mut out = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(s) = level.get(i ^ 1) {
                out.push(*s);
            }
            i /= 2;
        }
        Some(out)
    }
}

/// OpenZeppelin's `MerkleProof.verify`.
pub fn verify_proof(proof: &[B256], root: B256, leaf: B256) -> bool {
    proof.iter().fold(leaf, |acc, p| hash_pair(acc, *p)) == root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(B256, B256)> {
        (0..n)
            .map(|i| (keccak256(format!("id{i}")), keccak256(format!("ev{i}"))))
            .collect()
    }

    #[test]
    fn small_trees_by_hand() {
        let it = items(5);
        let l: Vec<B256> = it.iter().map(|(a, b)| evidence_leaf(*a, *b)).collect();
        assert_eq!(EvidenceTree::from_items(&[]).root(), B256::ZERO);
        assert_eq!(EvidenceTree::from_items(&it[..1]).root(), l[0]);
        assert_eq!(
            EvidenceTree::from_items(&it[..3]).root(),
            hash_pair(hash_pair(l[0], l[1]), l[2])
        );
        // 5 leaves: (01)(23)4 -> ((01)(23)) 4 -> root.
        let want = hash_pair(
            hash_pair(hash_pair(l[0], l[1]), hash_pair(l[2], l[3])),
            l[4],
        );
        let t = EvidenceTree::from_items(&it);
        assert_eq!(t.root(), want);
        // The carried-up leaf's proof has one element only.
        assert_eq!(
            t.proof(4).unwrap(),
            vec![hash_pair(hash_pair(l[0], l[1]), hash_pair(l[2], l[3]))]
        );
    }

    #[test]
    fn every_proof_verifies_and_forgeries_fail() {
        for n in 1..=17 {
            let it = items(n);
            let t = EvidenceTree::from_items(&it);
            for (i, (id, ev)) in it.iter().enumerate() {
                let p = t.proof(i).unwrap();
                assert!(verify_proof(&p, t.root(), evidence_leaf(*id, *ev)));
                assert!(!verify_proof(
                    &p,
                    t.root(),
                    evidence_leaf(*id, keccak256("forged"))
                ));
            }
            assert!(t.proof(n).is_none());
        }
    }
}
