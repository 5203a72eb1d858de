//! Cycles in a NIR graph: a cycle of stateless nodes is refused, and the
//! edges that close cycles (found depth-first from the inputs, in edge
//! order) are the ones that read the previous step.

use super::import::{Cx, stateful};
use super::nodes::Node;

impl Cx {
    /// A cycle of stateless nodes has no discrete meaning: an error.
    pub(super) fn check_cycles(&self) -> Result<(), String> {
        // From each stateless node, a depth-first search through stateless
        // nodes of higher index for a path back to it.
        let n = self.flat.len();
        let keep: Vec<bool> = (0..n).map(|i| !stateful(&self.flat[i].node)).collect();
        let mut adj = vec![vec![]; n];
        for &(a, b) in &self.edges {
            if keep[a] && keep[b] {
                adj[a].push(b);
            }
        }
        for start in 0..n {
            if !keep[start] {
                continue;
            }
            // Depth-first search for a path back to `start`.
            let mut stack = vec![(start, 0usize)];
            let mut on = vec![false; n];
            let mut done = vec![false; n];
            on[start] = true;
            while let Some(&mut (v, ref mut k)) = stack.last_mut() {
                if *k < adj[v].len() {
                    let w = adj[v][*k];
                    *k += 1;
                    if w == start {
                        let mut cycle: Vec<String> = stack
                            .iter()
                            .map(|(x, _)| format!("`{}`", self.flat[*x].name))
                            .collect();
                        cycle.push(format!("`{}`", self.flat[start].name));
                        return Err(format!(
                            "a cycle without state: {}; every cycle needs a neuron node (LIF, LI, IF, I, CubaLIF, CubaLI) to hold the previous step's value",
                            cycle.join(" -> ")
                        ));
                    }
                    if !on[w] && !done[w] && w > start {
                        on[w] = true;
                        stack.push((w, 0));
                    }
                } else {
                    on[v] = false;
                    done[v] = true;
                    stack.pop();
                }
            }
        }
        Ok(())
    }

    /// Depth-first from the inputs (then from any node not reached), in
    /// edge order: edges to a node on the stack close a cycle.
    pub(super) fn back_edges(&mut self) {
        let n = self.flat.len();
        let mut out = vec![vec![]; n];
        for (k, &(a, _)) in self.edges.iter().enumerate() {
            out[a].push(k);
        }
        let delayed: Vec<bool> = (0..n)
            .map(|i| match &self.flat[i].node {
                Some(Node::Delay { delay }) => delay
                    .values
                    .iter()
                    .all(|&d| self.steps(d).is_ok_and(|s| s >= 1)),
                _ => false,
            })
            .collect();
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut roots: Vec<usize> = (0..n)
            .filter(|&i| matches!(self.flat[i].node, Some(Node::Input { .. })))
            .collect();
        roots.extend(0..n);
        for r in roots {
            if state[r] != 0 {
                continue;
            }
            state[r] = 1;
            let mut stack = vec![(r, 0usize)];
            while let Some(&mut (v, ref mut k)) = stack.last_mut() {
                if *k < out[v].len() {
                    let e = out[v][*k];
                    *k += 1;
                    if delayed[v] {
                        // Reads an earlier step already: no same-step cycle.
                        continue;
                    }
                    let w = self.edges[e].1;
                    match state[w] {
                        0 => {
                            state[w] = 1;
                            stack.push((w, 0));
                        }
                        1 => {
                            self.back.insert(e);
                        }
                        _ => {}
                    }
                } else {
                    state[v] = 2;
                    stack.pop();
                }
            }
        }
    }
}
