package sarif

import "github.com/go-json-experiment/json/jsontext"

// The SARIF 2.1.0 objects below declare only the members vulntune reads.
// Unknown members are skipped by the decoder. Integer indexes that SARIF
// defaults to -1 are pointers so "absent" and "0" stay distinct.

// tool is run.tool: the driver and its extensions (CodeQL query packs).
type tool struct {
	Driver     component   `json:"driver"`
	Extensions []component `json:"extensions"`
}

// component is a toolComponent: a driver, an extension or a taxonomy.
// Rules stay raw until a result uses them: a Semgrep log lists every rule
// of its registry (1,000+) and its results use a few dozen.
type component struct {
	Name            string           `json:"name"`
	GUID            string           `json:"guid"`
	Version         string           `json:"version"`
	SemanticVersion string           `json:"semanticVersion"`
	Rules           []jsontext.Value `json:"rules"`
	Taxa            []rule           `json:"taxa"`
}

// ruleKey is the part of a raw rule needed to find it.
type ruleKey struct {
	ID   string `json:"id"`
	GUID string `json:"guid"`
}

// rule is a reportingDescriptor (a rule, or a taxon in a taxonomy).
type rule struct {
	ID                   string             `json:"id"`
	GUID                 string             `json:"guid"`
	Name                 string             `json:"name"`
	ShortDescription     *message           `json:"shortDescription"`
	FullDescription      *message           `json:"fullDescription"`
	Help                 *message           `json:"help"`
	HelpURI              string             `json:"helpUri"`
	DefaultConfiguration *ruleConfig        `json:"defaultConfiguration"`
	MessageStrings       map[string]message `json:"messageStrings"`
	Relationships        []relationship     `json:"relationships"`
	Properties           props              `json:"properties"`
}

type ruleConfig struct {
	Level string `json:"level"`
}

type relationship struct {
	Target descriptorRef `json:"target"`
}

// descriptorRef is a reportingDescriptorReference (result.rule,
// result.taxa[], relationship.target).
type descriptorRef struct {
	ID            string        `json:"id"`
	Index         *int          `json:"index"`
	GUID          string        `json:"guid"`
	ToolComponent *componentRef `json:"toolComponent"`
}

type componentRef struct {
	Name  string `json:"name"`
	Index *int   `json:"index"`
	GUID  string `json:"guid"`
}

// message is a message or multiformatMessageString.
type message struct {
	Text      string   `json:"text"`
	Markdown  string   `json:"markdown"`
	ID        string   `json:"id"`
	Arguments []string `json:"arguments"`
}

// props is a property bag kept raw: values are decoded only for the
// keys a rule needs, and a bag of any shape never fails a result.
type props map[string]jsontext.Value

type artifact struct {
	Location artifactLocation `json:"location"`
}

// vcp is one versionControlProvenance entry: the repository scanned and
// where its checkout was on disk.
type vcp struct {
	RepositoryURI string           `json:"repositoryUri"`
	MappedTo      artifactLocation `json:"mappedTo"`
}

type artifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
	Index     *int   `json:"index"`
}

type result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           *int              `json:"ruleIndex"`
	Rule                *descriptorRef    `json:"rule"`
	Kind                string            `json:"kind"`
	Level               string            `json:"level"`
	BaselineState       string            `json:"baselineState"`
	Message             message           `json:"message"`
	Locations           []location        `json:"locations"`
	RelatedLocations    []location        `json:"relatedLocations"`
	CodeFlows           []codeFlow        `json:"codeFlows"`
	Fixes               []fix             `json:"fixes"`
	Suppressions        []suppression     `json:"suppressions"`
	Fingerprints        map[string]string `json:"fingerprints"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Taxa                []descriptorRef   `json:"taxa"`
	Properties          props             `json:"properties"`
}

type location struct {
	ID               *int              `json:"id"`
	PhysicalLocation *physicalLocation `json:"physicalLocation"`
	LogicalLocations []logicalLocation `json:"logicalLocations"`
}

type physicalLocation struct {
	ArtifactLocation *artifactLocation `json:"artifactLocation"`
	Region           *region           `json:"region"`
	ContextRegion    *region           `json:"contextRegion"`
}

type region struct {
	StartLine   int      `json:"startLine"`
	StartColumn int      `json:"startColumn"`
	EndLine     int      `json:"endLine"`
	Snippet     *message `json:"snippet"`
}

type logicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Index              *int   `json:"index"`
}

type codeFlow struct {
	ThreadFlows []struct {
		Locations []struct {
			Location *location `json:"location"`
		} `json:"locations"`
	} `json:"threadFlows"`
}

type fix struct {
	Description     *message `json:"description"`
	ArtifactChanges []struct {
		ArtifactLocation artifactLocation `json:"artifactLocation"`
		Replacements     []struct {
			DeletedRegion   region   `json:"deletedRegion"`
			InsertedContent *message `json:"insertedContent"`
		} `json:"replacements"`
	} `json:"artifactChanges"`
}

type suppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}
