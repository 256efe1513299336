"""The GAI-enabled scenario twin (issue 4): see generators/README.md.

prioritization  eq. 1 and constraints (4)-(7): case and KPI weights
objective       T_i scores from result.json and O = sum w_i T_i (eq. 2-3)
generation_schema  what the model may change, derived from scenario.schema.json
prompt          the size-bounded chat prompt (twin R, history H, case, weights, scored candidates)
llm_client      OpenAI chat-completions with response_format json_schema, retries, audit
llm_server      the embedded vLLM server (SmolLM2-135M-Instruct) on 127.0.0.1
model_convert   the one-time GGUF -> Hugging Face conversion of the embedded model
compile         generated fields -> a runnable scenario config, or a rejection reason
closed_loop     proposed() / search(arm) / traditional() for Fig. 2, `run.py generate`
tuners          the arms of search(): proposed (LLM), random, rule, tpe (Optuna)
forecast        the twin's forecast of the next rounds (Fig. 3, right-time sync)
llm_forecast    the model's schema-validated forecast, steered by eq. 1's weights
bench_llm       `run.py bench llm`
"""
