//! x402-evidence: the evidence Merkle tree a batch commits to (`chargeBatch(items, true)`).
//!
//! Matches the settlement contract: leaves are
//! `keccak256(bytes.concat(keccak256(abi.encode(paymentId, evidenceHash))))` (double hashed, as
//! OpenZeppelin's standard tree, so a leaf can never pass for an inner node), taken in item order
//! over the settled items only; each level pairs neighbours `(0,1), (2,3), ...` and hashes the
//! pair sorted (smaller first), and a last node without a neighbour moves up unchanged. Proofs
//! verify with OpenZeppelin's `MerkleProof.verify` and the contract's `verifyEvidence`.

use alloy_primitives::{keccak256, B256};

/// The leaf `(paymentId, evidenceHash)` contributes (the contract's `evidenceLeaf`).
pub fn evidence_leaf(payment_id: B256, evidence_hash: B256) -> B256 {
    // abi.encode of two bytes32 is their concatenation.
    let mut encoded = [0u8; 64];
    encoded[..32].copy_from_slice(payment_id.as_slice());
    encoded[32..].copy_from_slice(evidence_hash.as_slice());
    keccak256(keccak256(encoded))
}

/// Hash of two nodes, order-independent (OpenZeppelin's commutative keccak).
fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// A built tree: every level kept so proofs are cheap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceTree {
    /// `levels[0]` are the leaves, the last level holds the root.
    levels: Vec<Vec<B256>>,
}

impl EvidenceTree {
    /// Builds the tree over leaves in item order.
    pub fn from_leaves(leaves: Vec<B256>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("checked above");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => hash_pair(*a, *b),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two nodes"),
                })
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// Builds the tree over the settled items' `(paymentId, evidenceHash)`, in item order.
    pub fn from_items(items: &[(B256, B256)]) -> Self {
        Self::from_leaves(
            items
                .iter()
                .map(|(id, ev)| evidence_leaf(*id, *ev))
                .collect(),
        )
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root; zero for an empty tree (what the contract emits when nothing settled).
    pub fn root(&self) -> B256 {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(B256::ZERO)
    }

    /// Sibling hashes from leaf `index` up to the root, or `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.len() {
            return None;
        }
        let mut proof = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            // A node without a sibling moves up as is: nothing to prove at this level.
            if sibling < level.len() {
                proof.push(level[sibling]);
            }
            i /= 2;
        }
        Some(proof)
    }
}

/// Whether `leaf` is under `root` with `proof` (OpenZeppelin's `MerkleProof.verify`).
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
    fn leaf_is_double_hashed_abi_encoding() {
        let (id, ev) = (keccak256("id"), keccak256("ev"));
        let mut enc = [0u8; 64];
        enc[..32].copy_from_slice(id.as_slice());
        enc[32..].copy_from_slice(ev.as_slice());
        assert_eq!(evidence_leaf(id, ev), keccak256(keccak256(enc)));
    }

    #[test]
    fn small_trees_by_hand() {
        assert_eq!(EvidenceTree::from_items(&[]).root(), B256::ZERO);
        let it = items(3);
        let l: Vec<B256> = it.iter().map(|(a, b)| evidence_leaf(*a, *b)).collect();
        assert_eq!(EvidenceTree::from_items(&it[..1]).root(), l[0]);
        assert_eq!(
            EvidenceTree::from_items(&it[..2]).root(),
            hash_pair(l[0], l[1])
        );
        // Odd node carried up: root = H(H(l0,l1), l2).
        assert_eq!(
            EvidenceTree::from_items(&it).root(),
            hash_pair(hash_pair(l[0], l[1]), l[2])
        );
    }

    #[test]
    fn every_proof_verifies_and_wrong_ones_do_not() {
        for n in 1..=33 {
            let it = items(n);
            let tree = EvidenceTree::from_items(&it);
            for (i, (id, ev)) in it.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                let leaf = evidence_leaf(*id, *ev);
                assert!(verify_proof(&proof, tree.root(), leaf), "n={n} i={i}");
                assert!(!verify_proof(
                    &proof,
                    tree.root(),
                    evidence_leaf(*id, keccak256("forged"))
                ));
            }
            assert!(tree.proof(n).is_none());
        }
    }

    #[test]
    fn five_leaves_carry_the_last_one_up() {
        let it = items(5);
        let l: Vec<B256> = it.iter().map(|(a, b)| evidence_leaf(*a, *b)).collect();
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
}
