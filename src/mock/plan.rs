//! Tool-call planning: which declared functions the mock calls on this turn, the way a
//! model drives an agent through its tools.
//!
//! - On a user turn, call the declared tool that best fits the latest user message (most
//!   topic words shared with its name and description) and has not run since that
//!   message; when several fit and the request allows parallel calls, call them together.
//! - After tool results, finish: text (or the response schema) in AUTO mode, or the
//!   output-like function (`final_result`, `set_model_response`, …) when the framework
//!   returns its answer through one, or when the mode requires a call.
//! - Never loop: at most `max_rounds` tool rounds per user turn; past that AUTO answers
//!   and ANY calls the output function (or, having none, the best fit once more).
//!
//! Frameworks that return structured output through an output tool declare it next to
//! their own tools; calling it first would end the run before the agent did its work, so
//! output tools come last.

use rand::Rng;

use super::grounding::words;
use crate::providers::{Ask, ToolDecl, ToolMode};

/// Planning knobs (`--auto-call-rate`, `--max-tool-rounds`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planning {
    /// In AUTO mode, the chance of calling a tool on a user turn.
    pub auto_call_rate: f64,
    /// Tool rounds (model turns that call tools) allowed per user turn.
    pub max_rounds: usize,
}

impl Default for Planning {
    fn default() -> Self {
        Planning {
            auto_call_rate: 1.0,
            max_rounds: 3,
        }
    }
}

/// Most calls one turn makes in parallel.
const MAX_PARALLEL: usize = 4;

/// The tools to call now (empty: answer instead).
pub fn tools_to_call<'a>(
    ask: &'a Ask,
    planning: &Planning,
    rng: &mut impl Rng,
) -> Result<Vec<&'a ToolDecl>, String> {
    let allowed: Vec<&ToolDecl> = match &ask.mode {
        ToolMode::None => return Ok(Vec::new()),
        ToolMode::Any(names) if !names.is_empty() => {
            let chosen: Vec<&ToolDecl> = ask.tools.iter().filter(|t| names.contains(&t.name)).collect();
            if chosen.is_empty() {
                return Err(format!(
                    "allowed function {} is not declared in tools",
                    names.join(", ")
                ));
            }
            chosen
        }
        ToolMode::Any(_) | ToolMode::Auto => ask.tools.iter().collect(),
    };
    if allowed.is_empty() {
        return Ok(Vec::new());
    }
    let must_call = matches!(ask.mode, ToolMode::Any(_));
    let (outputs, work): (Vec<&ToolDecl>, Vec<&ToolDecl>) = allowed.iter().partition(|t| is_output_tool(t));
    let fresh: Vec<&ToolDecl> = work
        .iter()
        .copied()
        .filter(|t| !ask.called_this_turn.contains(&t.name))
        .collect();
    let user = words::content(ask.latest_user.as_deref().unwrap_or(""));
    let out_of_rounds = ask.tool_rounds_this_turn >= planning.max_rounds;

    let finish = |rng: &mut dyn rand::RngCore| -> Vec<&'a ToolDecl> {
        if let Some(out) = outputs.first() {
            return vec![*out];
        }
        if must_call {
            return best_fits(&allowed, &user, false, rng);
        }
        Vec::new()
    };
    if out_of_rounds {
        return Ok(finish(rng));
    }
    if ask.after_tool_result {
        // The work for this message is done: answer (through the output tool if any).
        if must_call && outputs.is_empty() && !fresh.is_empty() {
            return Ok(best_fits(&fresh, &user, false, rng));
        }
        return Ok(finish(rng));
    }
    // A user turn.
    if !must_call {
        let rate = planning.auto_call_rate.clamp(0.0, 1.0);
        if rate <= 0.0 || !rng.gen_bool(rate) {
            return Ok(Vec::new());
        }
    }
    if !fresh.is_empty() {
        return Ok(best_fits(&fresh, &user, ask.parallel, rng));
    }
    Ok(finish(rng))
}

/// The tool(s) sharing the most topic words with the user's message; with `parallel`,
/// every tool that shares any (up to [`MAX_PARALLEL`]). Ties and no-fit pick at random.
fn best_fits<'a>(
    tools: &[&'a ToolDecl],
    user: &std::collections::BTreeSet<String>,
    parallel: bool,
    rng: &mut (impl Rng + ?Sized),
) -> Vec<&'a ToolDecl> {
    let scored: Vec<(usize, &ToolDecl)> = tools.iter().map(|t| (fit(t, user), *t)).collect();
    let best = scored.iter().map(|(s, _)| *s).max().unwrap_or(0);
    if parallel && best > 0 {
        let fitting: Vec<&ToolDecl> = scored
            .iter()
            .filter(|(s, _)| *s > 0)
            .map(|(_, t)| *t)
            .take(MAX_PARALLEL)
            .collect();
        if fitting.len() > 1 {
            return fitting;
        }
    }
    let top: Vec<&ToolDecl> = scored
        .iter()
        .filter(|(s, _)| *s == best)
        .map(|(_, t)| *t)
        .collect();
    match top.len() {
        0 => Vec::new(),
        n => vec![top[rng.gen_range(0..n)]],
    }
}

/// Topic words a tool shares with the user's message (name, description, parameter names).
fn fit(tool: &ToolDecl, user: &std::collections::BTreeSet<String>) -> usize {
    let mut text = words::name_tokens(&tool.name).join(" ");
    text.push(' ');
    text.push_str(&tool.description);
    if let Some((schema, _)) = &tool.schema {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for k in props.keys() {
                text.push(' ');
                text.push_str(&words::name_tokens(k).join(" "));
            }
        }
    }
    words::shared(&words::content(&text), user)
}

/// A function through which a framework takes the agent's final answer: pydantic-ai's
/// `final_result`, ADK's `set_model_response`, `final_answer`, `respond`, …
pub fn is_output_tool(tool: &ToolDecl) -> bool {
    let tokens = words::name_tokens(&tool.name);
    let has = |w: &str| tokens.iter().any(|t| t == w);
    let description = tool.description.to_lowercase();
    has("final")
        || matches!(
            tokens.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
            ["set", "model", "response"] | ["respond"] | ["submit"] | ["finish"] | ["structured", "output"]
        )
        || description.contains("final response")
        || description.contains("final answer")
        || description.contains("ends this conversation")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use serde_json::json;

    fn tool(name: &str, description: &str) -> ToolDecl {
        ToolDecl {
            name: name.into(),
            description: description.into(),
            schema: Some((
                json!({"type": "object", "properties": {}}),
                schemagen::Dialect::JsonSchema,
            )),
        }
    }

    fn ask(mode: ToolMode, user: &str, called: &[&str], after: bool) -> Ask {
        Ask {
            latest_user: Some(user.into()),
            tools: vec![
                tool("get_weather", "Current weather for a city."),
                tool("get_lab_results", "Fetch the patient's latest lab results."),
                tool("final_result", "The final response which ends this conversation"),
            ],
            mode,
            after_tool_result: after,
            called_this_turn: called.iter().map(|s| s.to_string()).collect(),
            tool_rounds_this_turn: usize::from(after),
            parallel: true,
            ..Ask::default()
        }
    }

    fn names(ts: Vec<&ToolDecl>) -> Vec<&str> {
        ts.into_iter().map(|t| t.name.as_str()).collect()
    }

    /// A pydantic-ai run: the agent's own tool first, then the output tool.
    #[test]
    fn work_tool_then_output_tool() {
        let mut rng = SmallRng::seed_from_u64(1);
        let p = Planning::default();
        for seed in 0..20 {
            let mut rng2 = SmallRng::seed_from_u64(seed);
            let first = ask(ToolMode::Any(vec![]), "What's the weather in Paris?", &[], false);
            assert_eq!(
                names(tools_to_call(&first, &p, &mut rng2).unwrap()),
                ["get_weather"]
            );
        }
        let second = ask(
            ToolMode::Any(vec![]),
            "What's the weather in Paris?",
            &["get_weather"],
            true,
        );
        assert_eq!(
            names(tools_to_call(&second, &p, &mut rng).unwrap()),
            ["final_result"]
        );
        // AUTO after a result: the output tool when there is one (it carries the answer).
        let auto = ask(ToolMode::Auto, "What's the weather?", &["get_weather"], true);
        assert_eq!(
            names(tools_to_call(&auto, &p, &mut rng).unwrap()),
            ["final_result"]
        );
    }

    /// AUTO without an output tool answers after results; the rounds bound stops loops.
    #[test]
    fn auto_finishes_and_never_loops() {
        let mut rng = SmallRng::seed_from_u64(2);
        let p = Planning::default();
        let mut a = ask(ToolMode::Auto, "Show my lab results", &[], false);
        a.tools.pop();
        assert_eq!(
            names(tools_to_call(&a, &p, &mut rng).unwrap()),
            ["get_lab_results"]
        );
        a.after_tool_result = true;
        a.called_this_turn = vec!["get_lab_results".into()];
        assert!(tools_to_call(&a, &p, &mut rng).unwrap().is_empty());
        // ANY with no output tool and rounds used up: one more call (the mode demands it),
        // but AUTO stops.
        a.tool_rounds_this_turn = 3;
        a.after_tool_result = false;
        assert!(tools_to_call(&a, &p, &mut rng).unwrap().is_empty() || a.mode != ToolMode::Auto);
        a.mode = ToolMode::Any(vec![]);
        assert_eq!(tools_to_call(&a, &p, &mut rng).unwrap().len(), 1);
    }

    /// Two fitting tools are called together when parallel calls are allowed.
    #[test]
    fn parallel_calls() {
        let mut rng = SmallRng::seed_from_u64(3);
        let p = Planning::default();
        let mut a = ask(ToolMode::Auto, "weather in Oslo and my lab results", &[], false);
        let got = names(tools_to_call(&a, &p, &mut rng).unwrap());
        assert_eq!(got, ["get_weather", "get_lab_results"]);
        a.parallel = false;
        assert_eq!(tools_to_call(&a, &p, &mut rng).unwrap().len(), 1);
    }

    /// `auto_call_rate` 0 never calls in AUTO; NONE never calls.
    #[test]
    fn rates_and_none() {
        let mut rng = SmallRng::seed_from_u64(4);
        let p = Planning {
            auto_call_rate: 0.0,
            ..Planning::default()
        };
        assert!(
            tools_to_call(&ask(ToolMode::Auto, "weather", &[], false), &p, &mut rng)
                .unwrap()
                .is_empty()
        );
        let p = Planning::default();
        assert!(
            tools_to_call(&ask(ToolMode::None, "weather", &[], false), &p, &mut rng)
                .unwrap()
                .is_empty()
        );
    }
}
