package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/engine"
)

func newServeCmd(a *app) *cobra.Command {
	var (
		model     string
		opts      engine.ServeOptions
		loopGuard bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a local model over an OpenAI-compatible API until interrupted",
		Long: `serve runs mlx_lm.server on 127.0.0.1 with a free port, waits until it
answers, prints its base URL (the API is under /v1) and keeps it running until
Ctrl-C. Concurrent requests are decoded as one batch, up to
--decode-concurrency.

With --grounded every completion, streamed or not, is decoded with grounded
decoding: the answer may name a vulnerability id, CWE id, version, file path
or URL only if the request's messages (or a text completion's prompt) name
it, or its optional string field "vulntune_ground" does (e.g. a finding's
facts). The final response object (the last chunk when streaming) carries
"vulntune_grounding": the steps checked, the interventions (tokens
replaced), the first one's position, and the deep and stuck counts.
Grounded completions are also kept out of token loops as explain and
evaluate keep their answers (--loop-guard=false turns it off): a token
that would complete a loop is masked unless the request's text holds that
run, and so is one that would open a bold line that is no answer section
heading still to come ("**Fix**" a second time, or a made-up one); an
answer that keeps coming back to a loop is ended. The final response object carries
"vulntune_loop_guard" (bans, section bans, first ban, gave up).`,
		Example: "  vulntune serve\n  vulntune serve --model my-tuned-model --decode-concurrency 8\n  vulntune serve --grounded",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("loop-guard") && !opts.Grounded {
				return usageError{errors.New("--loop-guard needs --grounded: the plain server is mlx_lm.server unchanged")}
			}
			if opts.Grounded && loopGuard {
				opts.LoopGuard = &engine.DefaultLoopGuard
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			dir, err := resolveModel(cfg, model)
			if err != nil {
				return err
			}
			e, err := a.openEngine(cfg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := e.Serve(ctx, dir, opts)
			if err != nil {
				return err
			}
			decoding := ""
			if opts.Grounded {
				decoding = " with grounded decoding"
			}
			fmt.Fprintf(a.stdout, "serving %s%s at %s/v1 (log: %s); Ctrl-C stops it\n", dir, decoding, s.URL(), s.LogPath())
			select {
			case <-ctx.Done():
				if err := s.Close(); err != nil {
					return err
				}
				return ctx.Err()
			case err := <-s.Done():
				if err == nil {
					err = fmt.Errorf("mlx_lm server exited unexpectedly (log: %s)", s.LogPath())
				}
				return err
			}
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model name or directory (default: default_base_model)")
	cmd.Flags().StringVar(&opts.Adapter, "adapter", "", "LoRA adapter directory to apply")
	cmd.Flags().IntVar(&opts.DecodeConcurrency, "decode-concurrency", 0, "requests decoded as one batch (0: mlx-lm's default, 32)")
	cmd.Flags().IntVar(&opts.MaxTokens, "max-tokens", 0, "default completion length (0: mlx-lm's default, 512)")
	cmd.Flags().BoolVar(&opts.Grounded, "grounded", false,
		"grounded decoding: answers may name ids, CWE ids, versions, paths and URLs only if the request does")
	cmd.Flags().BoolVar(&loopGuard, "loop-guard", true, "with --grounded: steer completions out of token loops and end those that keep looping")
	return cmd
}
