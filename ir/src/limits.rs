//! Limits on the shape of a graph that keep the passes that walk expressions
//! recursively (`fold` turns each per-step expression into an e-graph term)
//! within a stack of known size.
//!
//! A *chain* is a path through per-step algebra (constants, unary and binary
//! operations, clamps, matrix products), each node reading the next; states,
//! inputs, populations, probes and outputs end a chain. The front end and
//! the dump reader refuse a graph with a chain longer than [`MAX_CHAIN`].

use crate::{Graph, NodeId, Op};

/// The longest chain of per-step algebra a graph may hold (see
/// `docs/language.md`, "Limits").
pub const MAX_CHAIN: usize = 4096;

/// A chain longer than [`MAX_CHAIN`]: `node` ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTooLong {
    pub node: NodeId,
    pub length: usize,
}

/// Whether `op` continues a chain.
fn is_algebra(op: &Op) -> bool {
    matches!(
        op,
        Op::Const(_) | Op::Unary(_) | Op::Binary(_) | Op::Clamp { .. } | Op::Project(_)
    )
}

/// The first node (in node order) whose chain is longer than [`MAX_CHAIN`].
/// Walks without recursion; a cycle made only of algebra (possible in a
/// hand-written dump, through a delayed projection) is cut where it closes.
pub fn check_chains(g: &Graph) -> Result<(), ChainTooLong> {
    let nodes = g.nodes();
    let slot = |n: NodeId| nodes.binary_search(&n).ok();
    // 0: not seen; 1: on the walk; 2: done (length in `len`).
    let mut state = vec![0u8; nodes.len()];
    let mut len = vec![0usize; nodes.len()];
    for (root, &r) in nodes.iter().enumerate() {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            let n = nodes[i];
            let args = if is_algebra(g.op(n)) {
                g.args(n)
            } else {
                Vec::new()
            };
            if let Some(&a) = args.get(*next) {
                *next += 1;
                if let Some(j) = slot(a)
                    && state[j] == 0
                {
                    state[j] = 1;
                    stack.push((j, 0));
                }
                continue;
            }
            stack.pop();
            let l = if is_algebra(g.op(n)) {
                1 + args
                    .iter()
                    .filter_map(|&a| slot(a))
                    .filter(|&j| state[j] == 2)
                    .map(|j| len[j])
                    .max()
                    .unwrap_or(0)
            } else {
                0
            };
            len[i] = l;
            state[i] = 2;
            if l > MAX_CHAIN {
                return Err(ChainTooLong { node: n, length: l });
            }
        }
        debug_assert_eq!(state[root], 2, "{r} finished");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BinaryFn, Const, Duration, UnaryFn};

    /// `x`, then `n` negations one after the other.
    fn chain(n: usize) -> Graph {
        let mut g = Graph::new(Duration::from_ps(1_000_000_000));
        let mut at = g.add(
            Op::Input {
                name: "x".into(),
                size: 3,
            },
            &[],
        );
        for _ in 0..n {
            at = g.add(Op::Unary(UnaryFn::Neg), &[at]);
        }
        g.add(Op::Output { name: "y".into() }, &[at]);
        g
    }

    #[test]
    fn a_chain_at_the_limit_passes_and_one_more_node_does_not() {
        assert_eq!(check_chains(&chain(MAX_CHAIN)), Ok(()));
        let g = chain(MAX_CHAIN + 1);
        // Node 0 is the input, so the last negation is node MAX_CHAIN + 1.
        assert_eq!(
            check_chains(&g),
            Err(ChainTooLong {
                node: NodeId(MAX_CHAIN as u32 + 1),
                length: MAX_CHAIN + 1
            })
        );
    }

    #[test]
    fn a_long_graph_is_walked_without_recursion() {
        // Deeper than a recursive walk could go on a test thread.
        assert!(check_chains(&chain(300_000)).is_err());
    }

    #[test]
    fn shared_nodes_are_walked_once() {
        // A ladder `a1 = a0 + a0`, `a2 = a1 + a1`, ...: 2^n paths, one chain
        // of n + 1 nodes (the constant counts).
        let ladder = |n: usize| {
            let mut g = Graph::new(Duration::from_ps(1_000_000_000));
            let mut at = g.add(Op::Const(Const::Scalar(1.0)), &[]);
            for _ in 0..n {
                at = g.add(Op::Binary(BinaryFn::Add), &[at, at]);
            }
            g.add(Op::Output { name: "y".into() }, &[at]);
            g
        };
        assert_eq!(check_chains(&ladder(MAX_CHAIN - 1)), Ok(()));
        assert_eq!(
            check_chains(&ladder(MAX_CHAIN)).map_err(|e| e.length),
            Err(MAX_CHAIN + 1)
        );
    }
}
