package augment

// The default replacement catalogue (config's dataset.augment.* keys start
// from these). Names are made up in each ecosystem's shape rather than
// taken from real projects: a copy must not teach that a real package has
// a vulnerability it does not have, nor look like a finding of the
// evaluation corpus.
var (
	// DefaultPackages are replacement names by canonical ecosystem.
	DefaultPackages = map[string][]string{
		"maven": {"org.example.orbit:orbit-core", "io.acme.ledger:ledger-client", "net.sample.vesta:vesta-json",
			"com.example.harbor:harbor-http", "dev.placeholder.quill:quill-templates", "org.sample.tessera:tessera-crypto",
			"io.example.lumen:lumen-logging", "com.acme.cobalt:cobalt-xml"},
		"npm": {"orbit-parse", "ledger-fetch", "@acme/vesta-router", "harbor-sanitize", "quill-markdown",
			"@example/tessera-jwt", "lumen-yaml", "cobalt-serve"},
		"pypi": {"orbitlib", "ledger-requests", "vesta-yaml", "harbor-jinja", "quillparse", "tessera-crypto",
			"lumen-http", "cobalt-xml"},
		"go": {"github.com/acme/orbit", "github.com/example/ledger", "golang.example.org/x/vesta",
			"github.com/sample/harbor/v2", "gitlab.example.com/quill/quill", "github.com/acme/tessera"},
		"cargo":    {"orbit-rs", "ledger-tls", "vesta-serde", "harbor-hyper", "quill-parse", "tessera-crypto"},
		"rubygems": {"orbit-rack", "ledger-net", "vesta-yaml", "harbor-rails-html", "quill-markup"},
		"nuget":    {"Acme.Orbit.Json", "Example.Ledger.Http", "Sample.Vesta.Xml", "Acme.Harbor.Crypto"},
		"composer": {"acme/orbit-http", "example/ledger-yaml", "sample/vesta-twig", "acme/harbor-guzzle"},
	}
	// DefaultEcosystems are the ecosystems dependency copies move to:
	// every one remedy writes a lock-file fix for.
	DefaultEcosystems = []string{"npm", "pypi", "go", "cargo", "rubygems", "nuget", "composer", "maven"}
	// DefaultEcosystemShare is the share of movable copies that move. At
	// 0.75 (21 of the samples' 130 copies moved) a 30-step demo model wrote
	// hybrids of the ecosystems in its fix snippets, in-domain too
	// (bench/RESULTS.md, fourth session); at 44 steps (the demo's since it
	// trains in two processes), with fixes gained at 0.5, two runs got
	// every in-domain fact right and lowered the other projects' loss from
	// 1.18 to 0.79 (sixth session).
	DefaultEcosystemShare = 0.75
	// DefaultEcosystemCopies is the copies each movable dependency finding
	// gets besides, each moved to the least represented ecosystem
	// (pipeline's balanceEcosystems). One (25 more training rows on the
	// samples, 6 or 7 moved per other ecosystem against 33 Maven): on
	// three seeds of the demo's schedule it kept every in-domain gate and
	// fixed version (the defaults had failed one gate and 0.83 fixed on
	// all three), lowered the other projects' loss from 0.78-0.79 to
	// 0.69-0.72 and opened 18 of 30 of their first fix blocks with the
	// right build system (7 of 43), for 0 to 40 s more training (bench/
	// RESULTS.md, eleventh session). Three copies taught more and cost
	// 3.5 minutes of the main job (ninth session).
	DefaultEcosystemCopies = 1
	// DefaultFixShare is the share of the copies of operating-system
	// package findings without a fix that gain one (fix.go): half, so the
	// originals still teach the answer without a fix and the copies the
	// image-build fix (measured with the moves above, sixth session).
	DefaultFixShare = 0.5
	// DefaultLineMoveShare is the share of the copies of dependency
	// findings with a fix on the installed release line whose fix moves
	// to a later line (line.go).
	DefaultLineMoveShare = 0.0
	// DefaultCWEDropShare and DefaultLineDropShare are the shares of the
	// copies of findings with a CWE, or a line, that lose it (drop.go).
	DefaultCWEDropShare  = 0.0
	DefaultLineDropShare = 0.5
	// DefaultLinkDropShare is the share of the copies of findings with a
	// rule's page that lose it (dropsLink).
	DefaultLinkDropShare = 0.0
	// DefaultDirectoryShare is the share of moved copies located at their
	// lock file's directory (movesToDirectory): none by default; at 0.5,
	// on three seeds, the other projects' loss and ecosystem label
	// improved and fixed version, answers ending and hallucination did not
	// (bench/RESULTS.md, eleventh session).
	DefaultDirectoryShare = 0.0
	// DefaultOtherPackages are the names for the other ecosystems
	// (operating-system packages among them).
	DefaultOtherPackages = []string{"liborbit", "ledgerd", "libvesta2", "harbor-utils", "quill-tools", "libtessera", "lumen-base", "cobalt-libs"}
	// DefaultDirectories replace a path's directory names.
	DefaultDirectories = []string{"api", "billing-service", "gateway", "web-portal", "core", "auth-module",
		"inventory", "payments", "frontend", "backend", "shared", "admin-console", "reports", "notifier"}
	// DefaultFileStems replace the names of source and config files.
	DefaultFileStems = []string{"order-service", "user-controller", "session-store", "payment-handler", "config-loader",
		"report-builder", "token-verifier", "upload-handler", "account-repository", "audit-log", "search-query", "invoice-mapper"}
	// DefaultRuleNamespaces are the slash prefixes of ESLint's and
	// CodeQL's rule ids (and their plugins'), DefaultRuleNamespaceShare
	// the share of code copies whose rule ids take one.
	DefaultRuleNamespaces     = []string{"js", "py", "java", "go", "rb", "cs", "vue", "react", "security", "node"}
	DefaultRuleNamespaceShare = 0.0
	// DefaultStemQualifiers are what comes between a file's name and its
	// extension in generated, bundled, test and environment files
	// (x.pb.go, x.min.js, x.spec.ts, x.d.ts, x.auto.tfvars, x.prod.yml),
	// DefaultStemQualifierShare the share of code and config copies whose
	// files take one.
	DefaultStemQualifiers     = []string{"pb", "min", "spec", "test", "d", "generated", "module", "auto", "prod", "local"}
	DefaultStemQualifierShare = 0.0
	// DefaultRuleNames replace the last part of rule ids without digits.
	DefaultRuleNames = []string{"unsafe-input-flow", "tainted-query-string", "weak-crypto-usage", "open-redirect-target",
		"insecure-file-permission", "unvalidated-path-join", "hardcoded-credential-use", "unsafe-template-render"}
)

// Default is the catalogue of the defaults above (every non-deprecated
// weakness of the CWE catalogue for CWEs).
func Default() Catalogue {
	return Catalogue{Packages: DefaultPackages, Other: DefaultOtherPackages, Directories: DefaultDirectories,
		FileStems: DefaultFileStems, RuleNames: DefaultRuleNames,
		RuleNamespaces: DefaultRuleNamespaces, RuleNamespaceShare: DefaultRuleNamespaceShare,
		StemQualifiers: DefaultStemQualifiers, StemQualifierShare: DefaultStemQualifierShare, Ecosystems: DefaultEcosystems, EcosystemShare: DefaultEcosystemShare,
		FixShare: DefaultFixShare, CWEDropShare: DefaultCWEDropShare, LineDropShare: DefaultLineDropShare, LinkDropShare: DefaultLinkDropShare,
		DirectoryShare: DefaultDirectoryShare}
}
