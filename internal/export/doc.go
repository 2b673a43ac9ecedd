// Package export turns a model dir (Hugging Face layout, as the model store
// and training leave it) into files other runtimes load: a GGUF file for
// llama.cpp, with the tokenizer and chat template in its metadata, and an
// Ollama Modelfile beside it. It is the inverse of modelstore's GGUF import
// and writes through modelstore's GGUF writer: tensors get llama.cpp's
// names, llama Q/K rows get convert_hf_to_gguf's RoPE permutation, and 2-D
// weights are encoded as F16 or Q8_0 the way gguf-py does it.
package export
