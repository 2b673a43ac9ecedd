package config

// The sections below exist in the original plan's
// config/olmo-security-config.yaml (or in the versions its code read). They
// are parsed and type-checked so an existing file keeps working unchanged,
// and shown by `vulntune config show --all`, but vulntune gives them no
// meaning: its pipeline is single-stage, has no RAG knowledge base, and
// gates quality on its own evaluation (docs/configuration.md).

// Sequential is the plan's fine_tuning.sequential section.
type Sequential struct {
	Enabled             bool     `yaml:"enabled"`
	Stage1Sources       []string `yaml:"stage1_sources"`
	Stage2Sources       []string `yaml:"stage2_sources"`
	MaxCrossVulExamples int      `yaml:"max_crossvul_examples"`
	MaxCVEFixesExamples int      `yaml:"max_cvefixes_examples"`
}

// KnowledgeBase is the plan's knowledge_base section (its RAG store).
type KnowledgeBase struct {
	BaseDir         string `yaml:"base_dir"`
	EmbeddingsModel string `yaml:"embeddings_model"`
	VectorStoreType string `yaml:"vector_store_type"`
}

// PlanValidation is the plan's top-level validation section: pass
// thresholds for its two training stages.
type PlanValidation struct {
	Stage1Threshold     float64 `yaml:"stage1_threshold"`
	Stage2Threshold     float64 `yaml:"stage2_threshold"`
	SequentialThreshold float64 `yaml:"sequential_threshold"`
}

// MultiDomain is the plan's multi_domain section.
type MultiDomain struct {
	Enabled          bool                  `yaml:"enabled"`
	TargetCategories []string              `yaml:"target_categories"`
	CategoryWeights  map[string]float64    `yaml:"category_weights"`
	Validation       MultiDomainValidation `yaml:"validation"`
}

// MultiDomainValidation is multi_domain.validation.
type MultiDomainValidation struct {
	OverallThreshold     float64 `yaml:"overall_threshold"`
	CategoryMinimum      float64 `yaml:"category_minimum"`
	HighSpecialization   float64 `yaml:"high_specialization"`
	MediumSpecialization float64 `yaml:"medium_specialization"`
}
