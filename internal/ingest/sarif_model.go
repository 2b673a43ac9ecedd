package ingest

import "github.com/go-json-experiment/json/jsontext"

// The SARIF 2.1.0 objects below declare only the members vulntune reads.
// Unknown members are skipped by the decoder. Integer indexes that SARIF
// defaults to -1 are pointers so "absent" and "0" stay distinct.

// sarifTool is run.tool: the driver and its extensions (CodeQL query packs).
type sarifTool struct {
	Driver     sarifComponent   `json:"driver"`
	Extensions []sarifComponent `json:"extensions"`
}

// sarifComponent is a toolComponent: a driver, an extension or a taxonomy.
// Rules stay raw until a result uses them: a Semgrep log lists every rule
// of its registry (1,000+) and its results use a few dozen.
type sarifComponent struct {
	Name            string           `json:"name"`
	GUID            string           `json:"guid"`
	Version         string           `json:"version"`
	SemanticVersion string           `json:"semanticVersion"`
	Rules           []jsontext.Value `json:"rules"`
	Taxa            []sarifRule      `json:"taxa"`
}

// sarifRuleKey is the part of a raw rule needed to find it.
type sarifRuleKey struct {
	ID   string `json:"id"`
	GUID string `json:"guid"`
}

// sarifRule is a reportingDescriptor (a rule, or a taxon in a taxonomy).
type sarifRule struct {
	ID                   string                  `json:"id"`
	GUID                 string                  `json:"guid"`
	Name                 string                  `json:"name"`
	ShortDescription     *sarifMessage           `json:"shortDescription"`
	FullDescription      *sarifMessage           `json:"fullDescription"`
	Help                 *sarifMessage           `json:"help"`
	HelpURI              string                  `json:"helpUri"`
	DefaultConfiguration *sarifRuleConfig        `json:"defaultConfiguration"`
	MessageStrings       map[string]sarifMessage `json:"messageStrings"`
	Relationships        []sarifRelationship     `json:"relationships"`
	Properties           sarifProps              `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRelationship struct {
	Target sarifDescriptorRef `json:"target"`
}

// sarifDescriptorRef is a reportingDescriptorReference (result.rule,
// result.taxa[], relationship.target).
type sarifDescriptorRef struct {
	ID            string             `json:"id"`
	Index         *int               `json:"index"`
	GUID          string             `json:"guid"`
	ToolComponent *sarifComponentRef `json:"toolComponent"`
}

type sarifComponentRef struct {
	Name  string `json:"name"`
	Index *int   `json:"index"`
	GUID  string `json:"guid"`
}

// sarifMessage is a message or multiformatMessageString.
type sarifMessage struct {
	Text      string   `json:"text"`
	Markdown  string   `json:"markdown"`
	ID        string   `json:"id"`
	Arguments []string `json:"arguments"`
}

// sarifProps is a property bag kept raw: values are decoded only for the
// keys a rule needs, and a bag of any shape never fails a result.
type sarifProps map[string]jsontext.Value

type sarifArtifact struct {
	Location sarifArtifactLocation `json:"location"`
}

// sarifVCP is one versionControlProvenance entry: the repository scanned and
// where its checkout was on disk.
type sarifVCP struct {
	RepositoryURI string                `json:"repositoryUri"`
	MappedTo      sarifArtifactLocation `json:"mappedTo"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
	Index     *int   `json:"index"`
}

type sarifResult struct {
	RuleID              string               `json:"ruleId"`
	RuleIndex           *int                 `json:"ruleIndex"`
	Rule                *sarifDescriptorRef  `json:"rule"`
	Kind                string               `json:"kind"`
	Level               string               `json:"level"`
	BaselineState       string               `json:"baselineState"`
	Message             sarifMessage         `json:"message"`
	Locations           []sarifLocation      `json:"locations"`
	RelatedLocations    []sarifLocation      `json:"relatedLocations"`
	CodeFlows           []sarifCodeFlow      `json:"codeFlows"`
	Fixes               []sarifFix           `json:"fixes"`
	Suppressions        []sarifSuppression   `json:"suppressions"`
	Fingerprints        map[string]string    `json:"fingerprints"`
	PartialFingerprints map[string]string    `json:"partialFingerprints"`
	Taxa                []sarifDescriptorRef `json:"taxa"`
	Properties          sarifProps           `json:"properties"`
}

type sarifLocation struct {
	ID               *int                   `json:"id"`
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation *sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion           `json:"region"`
	ContextRegion    *sarifRegion           `json:"contextRegion"`
}

type sarifRegion struct {
	StartLine   int           `json:"startLine"`
	StartColumn int           `json:"startColumn"`
	EndLine     int           `json:"endLine"`
	Snippet     *sarifMessage `json:"snippet"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Index              *int   `json:"index"`
}

type sarifCodeFlow struct {
	ThreadFlows []struct {
		Locations []struct {
			Location *sarifLocation `json:"location"`
		} `json:"locations"`
	} `json:"threadFlows"`
}

type sarifFix struct {
	Description     *sarifMessage `json:"description"`
	ArtifactChanges []struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
		Replacements     []struct {
			DeletedRegion   sarifRegion   `json:"deletedRegion"`
			InsertedContent *sarifMessage `json:"insertedContent"`
		} `json:"replacements"`
	} `json:"artifactChanges"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}
