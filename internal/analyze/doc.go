// Package analyze asks a language model behind any OpenAI-compatible chat
// endpoint (mlx_lm.server by default, or Ollama, vLLM, llama.cpp, a hosted
// model) for short prose about each finding, and keeps an answer only when it
// is grounded. It is optional: the dataset is complete without it, and a
// rejected or failed answer only means the narrative has no LLM prose.
//
// # Why a grounding check
//
// The system vulntune replaces asked a 1B model for free analysis, got
// generic text with invented facts, and trained on it. Here every fact in a
// training answer must come from the finding or from a shipped reference
// table, so the model may add prose but never identifiers.
//
// # Answer schema
//
// The model must answer with one JSON object (see [Answer]):
//
//	{"summary": "...", "impact": "...", "exploitation": "...", "fix_rationale": "..."}
//
// Each field is plain prose of [MinFieldLen] to [MaxFieldLen] characters.
// The first JSON object in the reply is used, so code fences and chatter
// around it are tolerated; servers that ignore response_format still work.
// [PromptVersion] names the prompt and schema; it is part of the cache key and
// changes whenever either changes.
//
// # Grounding policy
//
// [Check] rejects an answer, with a reason counted in [Stats.RejectReasons],
// when any field names an identifier that is not in the finding:
//
//   - vulnerability ids (CVE, GHSA, GO, PYSEC, RUSTSEC, OSV and similar);
//   - CWE ids, which must be among the finding's own (CWE-079 == CWE-79); the
//     reference table only supplies names and descriptions for those;
//   - version strings (1.2.3, 2.14.0-rc1, v1.2, "version 2.15"), compared
//     without a leading "v" and trailing ".0" segments;
//   - package coordinates (group:artifact, @scope/name, name@1.2.3,
//     name==1.2.3, a dashed or dotted name followed by a version);
//   - file paths (a slash and an extension, an absolute path, a source file
//     name, or a well-known manifest such as pom.xml or package.json);
//   - URLs, which must be among the finding's references, help URI or
//     location URLs, or the reference tables (the CWE pages of its CWEs); a
//     link that appears only in free scanner text (message, rule help,
//     snippet) is not allowed, since that is where an attacker plants one.
//
// Identifiers are compared case-insensitively after trailing punctuation is
// stripped. Besides that, an answer is rejected when it is not JSON, misses a
// field, has a field that is too short or too long, repeats the instructions,
// the schema, the prompt's data block or another field, copies the scanner
// text verbatim, or carries a prompt-injection marker ("ignore previous
// instructions", a role label, a code fence, the data delimiters). Rejected answers are cached (marked rejected) so a rerun does
// not ask again, counted, and never returned as analyses.
//
// # Scanner text is data
//
// Messages, rule help, snippets and paths are attacker-influenced. The prompt
// builder puts every scanner-provided field into one JSON object between
// fixed delimiter lines; JSON string encoding keeps newlines out of values,
// and any delimiter text inside the data is neutralised, so no field can end
// the block or change the prompt's structure. The system prompt tells the
// model that the block is untrusted data and never instructions.
package analyze
