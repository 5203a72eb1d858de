//! Extraction of the cheapest expression from the fold pass's e-graph, in
//! time near-linear in the size of the graph.
//!
//! egg's own `Extractor` recomputes every class until nothing changes: a
//! chain of n dependent classes can take n passes over the whole graph, and
//! a 30 KB model chaining 1,000 matrix products took half a minute. The
//! canonical cost only grows from children to parent (a node's size is one
//! more than its children's, its bad count at least theirs), so classes can
//! be settled cheapest first, as in Dijkstra's shortest paths (Knuth's
//! generalisation to superior functions): a class's cost is final the first
//! time it leaves the queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use egg::{CostFunction, Id, Language, RecExpr};

use super::lang::{CanonicalCost, Cell, Cost, EGraph};

/// The cheapest expression of class `root` under [`CanonicalCost`]; among
/// nodes of equal cost, the first in the class's order.
pub fn cheapest(egraph: &EGraph, root: Id) -> RecExpr<Cell> {
    let classes: Vec<_> = egraph.classes().collect();
    let index: HashMap<Id, usize> = classes.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let class_of = |id: Id| index[&egraph.find(id)];

    // users[c]: the (class, node) pairs that have class c as a child;
    // waiting[c][n]: how many distinct child classes of node n of class c
    // are not settled yet.
    let mut users: Vec<Vec<(usize, usize)>> = vec![Vec::new(); classes.len()];
    let mut waiting: Vec<Vec<usize>> = Vec::with_capacity(classes.len());
    let mut queue = BinaryHeap::new();
    let mut settled: Vec<Option<(Cost, usize)>> = vec![None; classes.len()];
    let mut cost_fn = CanonicalCost;
    for (ci, class) in classes.iter().enumerate() {
        let mut counts = Vec::with_capacity(class.nodes.len());
        for (ni, node) in class.nodes.iter().enumerate() {
            let mut kids: Vec<usize> = node.children().iter().map(|&k| class_of(k)).collect();
            kids.sort_unstable();
            kids.dedup();
            for &k in &kids {
                users[k].push((ci, ni));
            }
            if kids.is_empty() {
                let cost = cost_fn.cost(node, |_| unreachable!("a leaf has no children"));
                queue.push(Reverse((cost, ci, ni)));
            }
            counts.push(kids.len());
        }
        waiting.push(counts);
    }

    let mut order = 0;
    while let Some(Reverse((cost, ci, _))) = queue.pop() {
        if settled[ci].is_some() {
            continue;
        }
        settled[ci] = Some((cost, order));
        order += 1;
        for &(pc, pn) in &users[ci] {
            waiting[pc][pn] -= 1;
            if waiting[pc][pn] == 0 && settled[pc].is_none() {
                let node = &classes[pc].nodes[pn];
                let cost = cost_fn.cost(node, |k| settled[class_of(k)].expect("settled").0);
                queue.push(Reverse((cost, pc, pn)));
            }
        }
    }

    // The first node of each class that reaches its settled cost from
    // classes settled before it (so the expression has no cycle).
    let best = |ci: usize| -> &Cell {
        let (cost, at) = settled[ci].expect("every class reachable from the root has a cost");
        classes[ci]
            .nodes
            .iter()
            .find(|node| {
                node.children()
                    .iter()
                    .all(|&k| settled[class_of(k)].is_some_and(|s| s.1 < at))
                    && CanonicalCost.cost(node, |k| settled[class_of(k)].expect("settled").0)
                        == cost
            })
            .expect("the node that settled the class")
    };
    best(class_of(root)).build_recexpr(|id| best(class_of(id)).clone())
}
