//! The integer programs of placement, built with good_lp and solved by
//! HiGHS under a time limit, each started from the greedy solution (which
//! is always feasible, so a timed-out solve still returns a placement).
//!
//! 1. `pack`: chunks that can share a core → cores. Minimises cores first,
//!    then the traffic between chunks that end up on different cores.
//! 2. `split`: cores → chips. Minimises the traffic between chips.
//!
//! Symmetry is broken by letting item `i` use only bins `0..=i` and by
//! using bins in order; traffic enters through "separated" variables
//! `s_ij ≥ x_ib − x_jb` for the heaviest pairs only.

use std::time::{Duration, Instant};

use good_lp::{
    Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, Variable,
    WithInitialSolution, constraint, highs, variable,
};

/// How a solve ended.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SolveReport {
    pub stage: &'static str,
    /// `optimal`, `time limit`, `gap limit`, `greedy kept`, `not run (...)`.
    pub status: String,
    pub variables: usize,
    pub constraints: usize,
    pub seconds: f64,
}

/// An item to pack: its resource use per dimension.
#[derive(Clone, Debug)]
pub struct Item {
    pub need: Vec<f64>,
}

/// Pairs with the most traffic, at most `limit`, as `(i, j, traffic)`.
pub fn heaviest(pairs: &[(usize, usize, f64)], limit: usize) -> Vec<(usize, usize, f64)> {
    let mut v: Vec<(usize, usize, f64)> = pairs.iter().copied().filter(|p| p.2 > 0.0).collect();
    v.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    v.truncate(limit);
    v
}

/// Packs `items` into bins of capacity `cap` per dimension, starting from
/// `greedy` (a bin index per item, bins numbered in order of first use,
/// with every tie honoured). Items `(i, j)` of `ties` share a bin.
/// Returns a bin per item (renumbered from 0 in order of first use).
pub fn pack(
    items: &[Item],
    cap: &[f64],
    pairs: &[(usize, usize, f64)],
    ties: &[(usize, usize)],
    greedy: &[usize],
    time: Duration,
) -> (Vec<usize>, SolveReport) {
    let start = Instant::now();
    let n = items.len();
    let bins = greedy.iter().copied().max().map_or(0, |m| m + 1);
    let mut report = SolveReport {
        stage: "pack chunks into cores",
        status: String::new(),
        variables: 0,
        constraints: 0,
        seconds: 0.0,
    };
    if n <= 1 || bins <= 1 && pairs.is_empty() {
        report.status = "not needed (at most one chunk can share a core)".into();
        return (greedy.to_vec(), report);
    }
    let mut vars = ProblemVariables::new();
    // x[i][b] only for b <= i (symmetry).
    let x: Vec<Vec<Variable>> = (0..n)
        .map(|i| {
            (0..bins.min(i + 1))
                .map(|_| vars.add(variable().binary()))
                .collect()
        })
        .collect();
    let y: Vec<Variable> = (0..bins).map(|_| vars.add(variable().binary())).collect();
    let sep: Vec<(usize, usize, f64, Variable)> = pairs
        .iter()
        .map(|&(i, j, t)| (i, j, t, vars.add(variable().min(0.0).max(1.0))))
        .collect();
    let total_traffic: f64 = pairs.iter().map(|p| p.2).sum();
    let big = 1.0 + total_traffic;
    let objective: Expression = y.iter().map(|&v| big * v).sum::<Expression>()
        + sep.iter().map(|&(_, _, t, s)| t * s).sum::<Expression>();
    report.variables = x.iter().map(Vec::len).sum::<usize>() + y.len() + sep.len();
    let mut model = vars
        .minimise(objective)
        .using(highs)
        .set_time_limit(time.as_secs_f64().max(0.1))
        .set_threads(1);
    let mut rows = 0;
    for xi in &x {
        model.add_constraint(constraint!(xi.iter().copied().sum::<Expression>() == 1));
        rows += 1;
    }
    // A resource whose total over all items fits one bin never binds; an
    // unlimited one (a huge capacity) would only hurt the solver's numerics
    // (HiGHS refuses matrix entries above 1e15).
    let binding: Vec<(usize, f64)> = cap
        .iter()
        .copied()
        .enumerate()
        .filter(|&(d, c)| items.iter().map(|it| it.need[d]).sum::<f64>() > c)
        .collect();
    for b in 0..bins {
        // Only an open bin takes items.
        let members: Expression = (b..n).map(|i| x[i][b]).sum();
        model.add_constraint(constraint!(members <= (n as f64) * y[b]));
        rows += 1;
        for &(d, c) in &binding {
            let used: Expression = (b..n).map(|i| items[i].need[d] * x[i][b]).sum();
            model.add_constraint(constraint!(used <= c * y[b]));
            rows += 1;
        }
        if b + 1 < bins {
            model.add_constraint(constraint!(y[b] >= y[b + 1]));
            rows += 1;
        }
    }
    for &(i, j, _, s) in &sep {
        for b in 0..bins {
            let xi = x[i].get(b).map_or(Expression::from(0.0), |&v| v.into());
            let xj = x[j].get(b).map_or(Expression::from(0.0), |&v| v.into());
            model.add_constraint(constraint!(s >= xi - xj));
            rows += 1;
        }
    }
    for &(i, j) in ties {
        for b in 0..bins {
            let xi = x[i].get(b).map_or(Expression::from(0.0), |&v| v.into());
            let xj = x[j].get(b).map_or(Expression::from(0.0), |&v| v.into());
            model.add_constraint(constraint!(xi == xj));
            rows += 1;
        }
    }
    report.constraints = rows;
    // Warm start from the greedy packing.
    let mut init: Vec<(Variable, f64)> = Vec::new();
    for (i, xi) in x.iter().enumerate() {
        for (b, &v) in xi.iter().enumerate() {
            init.push((v, (greedy[i] == b) as u8 as f64));
        }
    }
    for (b, &v) in y.iter().enumerate() {
        init.push((v, greedy.contains(&b) as u8 as f64));
    }
    for &(i, j, _, s) in &sep {
        init.push((s, (greedy[i] != greedy[j]) as u8 as f64));
    }
    let model = model.with_initial_solution(init);
    let result = model.solve();
    report.seconds = start.elapsed().as_secs_f64();
    let solution = match result {
        Ok(s) => s,
        Err(e) => {
            report.status = format!("greedy kept (solver: {e})");
            return (greedy.to_vec(), report);
        }
    };
    report.status = status_name(solution.status());
    let mut bin_of = Vec::with_capacity(n);
    for xi in &x {
        let b = xi
            .iter()
            .enumerate()
            .max_by(|a, b| solution.value(*a.1).total_cmp(&solution.value(*b.1)))
            .map_or(0, |(b, _)| b);
        bin_of.push(b);
    }
    // Keep the greedy packing unless the solve found one with fewer bins,
    // or as many bins and less traffic between them.
    let cost = |assign: &[usize]| -> (usize, f64) {
        let used = {
            let mut u: Vec<usize> = assign.to_vec();
            u.sort_unstable();
            u.dedup();
            u.len()
        };
        let t: f64 = pairs
            .iter()
            .filter(|p| assign[p.0] != assign[p.1])
            .map(|p| p.2)
            .sum();
        (used, t)
    };
    let feasible = (0..bins).all(|b| {
        cap.iter().enumerate().all(|(d, &c)| {
            let used: f64 = (0..n)
                .filter(|&i| bin_of[i] == b)
                .map(|i| items[i].need[d])
                .sum();
            used <= c + 1e-6
        })
    });
    let (gc, sc) = (cost(greedy), cost(&bin_of));
    if !feasible || sc.0 > gc.0 || (sc.0 == gc.0 && sc.1 >= gc.1) {
        report.status = format!("{}, greedy kept", report.status);
        return (greedy.to_vec(), report);
    }
    (renumber(&bin_of), report)
}

/// Assigns `n` cores to chips of `per_chip` cores, minimising the traffic
/// between chips, from the in-order split `greedy`.
pub fn split(
    n: usize,
    per_chip: usize,
    chips: usize,
    pairs: &[(usize, usize, f64)],
    greedy: &[usize],
    time: Duration,
) -> (Vec<usize>, SolveReport) {
    let start = Instant::now();
    let mut report = SolveReport {
        stage: "assign cores to chips",
        status: String::new(),
        variables: 0,
        constraints: 0,
        seconds: 0.0,
    };
    if chips <= 1 {
        report.status = "not needed (one chip)".into();
        return (greedy.to_vec(), report);
    }
    let mut vars = ProblemVariables::new();
    let u: Vec<Vec<Variable>> = (0..n)
        .map(|c| {
            (0..chips.min(c + 1))
                .map(|_| vars.add(variable().binary()))
                .collect()
        })
        .collect();
    let sep: Vec<(usize, usize, f64, Variable)> = pairs
        .iter()
        .map(|&(i, j, t)| (i, j, t, vars.add(variable().min(0.0).max(1.0))))
        .collect();
    report.variables = u.iter().map(Vec::len).sum::<usize>() + sep.len();
    let objective: Expression = sep.iter().map(|&(_, _, t, s)| t * s).sum();
    let mut model = vars
        .minimise(objective)
        .using(highs)
        .set_time_limit(time.as_secs_f64().max(0.1))
        .set_threads(1);
    let mut rows = 0;
    for uc in &u {
        model.add_constraint(constraint!(uc.iter().copied().sum::<Expression>() == 1));
        rows += 1;
    }
    for j in 0..chips {
        // Core c may use chips 0..=c only (symmetry), so chip j sees cores j.. .
        let used: Expression = u.iter().skip(j).map(|uc| uc[j]).sum();
        model.add_constraint(constraint!(used <= per_chip as f64));
        rows += 1;
    }
    for &(a, b, _, s) in &sep {
        for j in 0..chips {
            let ua = u[a].get(j).map_or(Expression::from(0.0), |&v| v.into());
            let ub = u[b].get(j).map_or(Expression::from(0.0), |&v| v.into());
            model.add_constraint(constraint!(s >= ua - ub));
            rows += 1;
        }
    }
    report.constraints = rows;
    let mut init: Vec<(Variable, f64)> = Vec::new();
    for (c, uc) in u.iter().enumerate() {
        for (j, &v) in uc.iter().enumerate() {
            init.push((v, (greedy[c] == j) as u8 as f64));
        }
    }
    for &(a, b, _, s) in &sep {
        init.push((s, (greedy[a] != greedy[b]) as u8 as f64));
    }
    let result = model.with_initial_solution(init).solve();
    report.seconds = start.elapsed().as_secs_f64();
    let solution = match result {
        Ok(s) => s,
        Err(e) => {
            report.status = format!("greedy kept (solver: {e})");
            return (greedy.to_vec(), report);
        }
    };
    report.status = status_name(solution.status());
    let chip_of: Vec<usize> = u
        .iter()
        .map(|uc| {
            uc.iter()
                .enumerate()
                .max_by(|a, b| solution.value(*a.1).total_cmp(&solution.value(*b.1)))
                .map_or(0, |(j, _)| j)
        })
        .collect();
    let traffic = |assign: &[usize]| -> f64 {
        pairs
            .iter()
            .filter(|p| assign[p.0] != assign[p.1])
            .map(|p| p.2)
            .sum()
    };
    let fits = (0..chips).all(|j| chip_of.iter().filter(|&&c| c == j).count() <= per_chip);
    if !fits || traffic(&chip_of) >= traffic(greedy) {
        report.status = format!("{}, greedy kept", report.status);
        return (greedy.to_vec(), report);
    }
    (chip_of, report)
}

fn status_name(s: SolutionStatus) -> String {
    match s {
        SolutionStatus::Optimal => "optimal".into(),
        SolutionStatus::TimeLimit => "time limit".into(),
        SolutionStatus::GapLimit => "gap limit".into(),
    }
}

/// Renumbers bins in order of first use.
pub fn renumber(assign: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    assign
        .iter()
        .map(|&b| {
            let next = map.len();
            *map.entry(b).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_to_the_known_optimum() {
        // Sizes 6, 5, 4, 3, 2 into bins of 10: 20 units need 2 bins
        // ({6, 4}, {5, 3, 2}); first-fit in this order opens 3.
        let items: Vec<Item> = [6.0, 5.0, 4.0, 3.0, 2.0]
            .iter()
            .map(|&s| Item { need: vec![s] })
            .collect();
        let greedy = vec![0, 1, 0, 1, 2];
        let (bins, report) = pack(&items, &[10.0], &[], &[], &greedy, Duration::from_secs(10));
        assert_eq!(report.status, "optimal");
        assert_eq!(bins.iter().max(), Some(&1));
        for b in 0..2 {
            let used: f64 = (0..5)
                .filter(|&i| bins[i] == b)
                .map(|i| items[i].need[0])
                .sum();
            assert!(used <= 10.0);
        }
    }

    #[test]
    fn traffic_decides_between_equal_packings() {
        // Four chunks of 5 in bins of 10: two bins either way; chunks 0 and
        // 3 talk a lot, so they share a bin.
        let items: Vec<Item> = (0..4).map(|_| Item { need: vec![5.0] }).collect();
        let greedy = vec![0, 0, 1, 1];
        let pairs = vec![(0, 3, 10.0), (1, 2, 10.0), (0, 1, 1.0)];
        let (bins, _) = pack(
            &items,
            &[10.0],
            &pairs,
            &[],
            &greedy,
            Duration::from_secs(10),
        );
        assert_eq!(bins[0], bins[3]);
        assert_eq!(bins[1], bins[2]);
        assert_ne!(bins[0], bins[1]);
    }

    #[test]
    fn ties_override_traffic() {
        // The same four chunks, but 0 is tied to 1 and 2 to 3: the traffic
        // would pair 0 with 3, the ties may not.
        let items: Vec<Item> = (0..4).map(|_| Item { need: vec![5.0] }).collect();
        let greedy = vec![0, 0, 1, 1];
        let pairs = vec![(0, 3, 10.0), (1, 2, 10.0)];
        let (bins, report) = pack(
            &items,
            &[10.0],
            &pairs,
            &[(0, 1), (2, 3)],
            &greedy,
            Duration::from_secs(10),
        );
        // The greedy start is already optimal under the ties.
        assert_eq!(report.status, "optimal, greedy kept");
        assert_eq!(bins, vec![0, 0, 1, 1]);
    }

    #[test]
    fn chips_keep_talking_cores_together() {
        // Cores 0..4, two per chip; 0-2 and 1-3 talk.
        let pairs = vec![(0, 2, 5.0), (1, 3, 5.0)];
        let (chips, report) = split(4, 2, 2, &pairs, &[0, 0, 1, 1], Duration::from_secs(10));
        assert_eq!(report.status, "optimal");
        assert_eq!(chips[0], chips[2]);
        assert_eq!(chips[1], chips[3]);
    }
}
