package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/pipeline"
)

type modelHookOptions struct {
	MaxSteps, Epochs int
}

// modelHooks wires the train, evaluate and validate packages into the
// pipeline's model phases.
func (a *app) modelHooks(cmd *cobra.Command, cfg *config.Config, baseModel string, o modelHookOptions) (pipeline.FinetuneHooks, error) {
	return pipeline.FinetuneHooks{}, errors.New("fine-tuning is not wired yet")
}
