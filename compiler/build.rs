//! Generates the `.snn` parser from `src/syntax/grammar.lalrpop`.

fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .process()
        .expect("the grammar is valid");
}
