package redact

import "strings"

// Sample secrets below are made up; they have the shape of real credentials
// and nothing else. Several are split with + so that repository secret
// scanners do not flag this file.

const (
	fakeAWSID     = "AKIA" + "IOSFODNN7EXAMPLE"
	fakeAWSSecret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
	fakeGCPKey    = "AIza" + "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
	fakeGH36      = "xK9mQ2vL8nR4tY6wZ1aB3cD5eF7gH0jN2pS4"
	fakeSlackBot  = "xoxb-" + "2364839201-4820193847261-Hd8kQ2mZ9xL3pW7vN4bR1tY6"
	fakeJWT       = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." +
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	fakePEMBody = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
)

// defaultWindow lets token and header detectors look a few words past their
// keyword ("Authorization: Bearer x"); the window then runs on to the next
// whitespace, so the token itself may be of any length.
var defaultWindow = tokenWindow(64)

// tokenDetectors find credentials by their own shape: provider prefixes,
// private key blocks and JWTs. They are precise, so they run on every field,
// paths and URLs included.
func tokenDetectors() []Detector {
	return []Detector{
		{
			Name:        "gcp-service-account",
			Description: "private_key of a Google Cloud service-account JSON key file",
			Keywords:    []string{"private_key"},
			MustMatch: []string{
				`{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n` + strings.ReplaceAll(fakePEMBody, "\n", `\n`) + `-----END PRIVATE KEY-----\n"}`,
				`\"private_key\": \"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC`,
			},
			MustNotMatch: []string{`"private_key_id": "3f786850e387550fdab836ed7e6dc881de23001b"`, `"private_key": ""`},
			patterns: []pattern{
				newPattern(`\\?"private_key\\?"\s*:\s*\\?"(?P<s1>-----BEGIN(?:[^"\\]|\\[^"])*)`, nil),
			},
		},
		{
			Name:        "private-key",
			Description: "PEM private key block (RSA, EC, DSA, OpenSSH, PGP, PKCS#8), whole or truncated, with real or escaped newlines",
			Keywords:    []string{"private key"},
			MustMatch: []string{
				"-----BEGIN RSA PRIVATE KEY-----\n" + fakePEMBody + "-----END RSA PRIVATE KEY-----",
				`key: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"`,
				"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n... (truncated)",
				"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0vQ8kBCADYx7L3J3JkA1v2oPqB3gT5\n-----END PGP PRIVATE KEY BLOCK-----",
				"tail of a key\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END PRIVATE KEY-----",
			},
			MustNotMatch: []string{
				"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
				"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
				"Private keys must not be committed to the repository.",
			},
			patterns: []pattern{
				newPattern(`(?s)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|(?:[A-Za-z0-9+/=\s:,\-]|\\[nrt])*)`, nil),
				newPattern(`(?:[A-Za-z0-9+/=]{16,}(?:\\[rn]|\s)+)+-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`, nil),
			},
		},
		{
			window:       defaultWindow,
			Name:         "aws-access-key",
			Description:  "AWS access key id (AKIA, ASIA, ABIA, ACCA, A3T prefixes)",
			Keywords:     []string{"akia", "asia", "abia", "acca", "a3t"},
			MustMatch:    []string{"aws_access_key_id = " + fakeAWSID, "X-Amz-Credential=ASIA" + "Y34FZKBOKMUTVV7A/20240101/us-east-1"},
			MustNotMatch: []string{"AKIA" + "IOSFODNN7EXAMPL", "akia" + "iosfodnn7example", "ASIAN markets", "AKIA" + "IOSFODNN1EXAMPLE"},
			patterns:     []pattern{newPattern(`\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b`, nil)},
		},
		{
			window:      defaultWindow,
			Name:        "aws-secret-key",
			Description: "AWS secret access key (40 base64 characters) assigned to an aws_secret_access_key-like name",
			Keywords:    []string{"secret"},
			MustMatch: []string{
				"aws_secret_access_key = " + fakeAWSSecret,
				`"SecretAccessKey": "` + fakeAWSSecret + `"`,
				"AWS_SECRET_KEY=" + fakeAWSSecret,
			},
			MustNotMatch: []string{"aws_secret_access_key = ${AWS_SECRET}", "secret_access_key is required"},
			patterns:     []pattern{newPattern(`(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["'\x60]?[ \t]*(?:=>|:=|=|:)[ \t]*["'\x60]?(?P<s1>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`, nil)},
		},
		{
			window:       defaultWindow,
			Name:         "gcp-api-key",
			Description:  "Google Cloud API key (AIza...)",
			Keywords:     []string{"aiza"},
			MustMatch:    []string{"key=" + fakeGCPKey, `"apiKey": "` + fakeGCPKey + `"`},
			MustNotMatch: []string{"AIza" + "SyShort", "AIzaTheRest"},
			patterns:     []pattern{newPattern(`\b(?P<s1>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)`, nil)},
		},
		{
			window:      defaultWindow,
			Name:        "azure-storage-key",
			Description: "Azure storage account key or SAS in a connection string, or an 88-character account key assignment",
			Keywords:    []string{"accountkey", "sharedaccess", "account_key", "storage_key", "accountkey", "storagekey"},
			MustMatch: []string{
				"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + strings.Repeat("Zm9vYmFy", 11)[:86] + "==;EndpointSuffix=core.windows.net",
				"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=" + "k3Vq8pL2mN9xR4tY6wZ1aB3cD5eF7gH0jK2lM4nP6qS=",
				"AZURE_STORAGE_KEY=" + strings.Repeat("Zm9vYmFy", 11)[:86] + "==",
			},
			MustNotMatch: []string{"AccountKey=", "set the AccountKey setting", "SharedAccessKeyName=RootManageSharedAccessKey"},
			patterns: []pattern{
				newPattern(`(?i)(?:AccountKey|SharedAccessKey)[ \t]*=[ \t]*(?P<s1>[A-Za-z0-9+/]{20,}={0,2})`, nil),
				newPattern(`(?i)SharedAccessSignature[ \t]*=[ \t]*(?P<s1>[^;"'\s]+)`, nil),
				newPattern(`(?i)(?:account|storage)_?key["']?[ \t]*[:=][ \t]*["']?(?P<s1>[A-Za-z0-9+/]{86}==)`, nil),
			},
		},
		prefixed("github-pat", "GitHub personal access token (classic)", []string{"ghp_"}, `ghp_[0-9A-Za-z]{36,251}`, "ghp_"+fakeGH36, "ghp_short"),
		prefixed("github-fine-grained-pat", "GitHub fine-grained personal access token", []string{"github_pat_"}, `github_pat_[0-9A-Za-z_]{82,}`,
			"github_pat_11ABCDEFG0"+strings.Repeat("aB3dE5gH7j", 7)+"k9mN2pQ4rS6t", "github_pat_"),
		prefixed("github-oauth", "GitHub OAuth access token", []string{"gho_"}, `gho_[0-9A-Za-z]{36,251}`, "gho_"+fakeGH36, "gho_"+fakeGH36[:20]),
		prefixed("github-app-token", "GitHub App user-to-server or server-to-server token", []string{"ghu_", "ghs_"}, `gh[us]_[0-9A-Za-z]{36,251}`, "ghs_"+fakeGH36, "ghs_x"),
		prefixed("github-refresh-token", "GitHub refresh token", []string{"ghr_"}, `ghr_[0-9A-Za-z]{36,251}`, "ghr_"+fakeGH36, "ghr_"),
		{
			window:      defaultWindow,
			Name:        "gitlab-token",
			Description: "GitLab personal, deploy, runner, pipeline-trigger, CI-job, OAuth, feed, agent and incoming-mail tokens and runner registration tokens",
			Keywords:    []string{"glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-", "glsoat-", "glffct-", "glagent-", "glimt-", "glft-", "gr1348941"},
			MustMatch: []string{
				"PRIVATE-TOKEN: glpat-" + "xK9mQ2vL8nR4tY6wZ1aB",
				"glpat-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0.01.171234567",
				"token = gldt-" + "1234567890abcdefghij",
				"GR1348941" + "abcDEF123456ghiJKL78",
			},
			MustNotMatch: []string{"glpat-short", "glpat-", "see gitlab docs about glpat tokens"},
			patterns: []pattern{
				newPattern(`\b(?:glpat|gldt|glrt|glptt|glcbt|gloas|glsoat|glffct|glagent|glimt|glft)-[0-9A-Za-z_\-.]{19,}[0-9A-Za-z_\-]`, nil),
				newPattern(`\bGR1348941[0-9A-Za-z_\-]{20,}`, nil),
			},
		},
		{
			window:       defaultWindow,
			Name:         "slack-token",
			Description:  "Slack bot, user, app, legacy and configuration tokens (xoxb-, xoxp-, xoxa-, xoxe-, xapp-)",
			Keywords:     []string{"xox", "xapp-"},
			MustMatch:    []string{"SLACK_BOT_TOKEN=" + fakeSlackBot, "xapp-1-A0123456789-1234567890123-abcdef0123456789"},
			MustNotMatch: []string{"xoxb-", "the xoxo cafe"},
			patterns: []pattern{
				newPattern(`\bxox[abposre]-[0-9A-Za-z\-]{10,}`, nil),
				newPattern(`\bxapp-\d-[0-9A-Za-z\-]{10,}`, nil),
			},
		},
		{
			window:       defaultWindow,
			Name:         "slack-webhook",
			Description:  "Slack incoming-webhook or workflow URL; the host is kept, the secret path masked",
			Keywords:     []string{"hooks.slack.com"},
			MustMatch:    []string{"https://hooks.slack.com/services/T0123ABCD/B0123ABCD/" + "abcdEFGHijklMNOPqrstUVWX"},
			MustNotMatch: []string{"https://hooks.slack.com/", "https://api.slack.com/messaging/webhooks"},
			patterns:     []pattern{newPattern(`(?i)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s1>[A-Za-z0-9+/_\-]{20,})`, nil)},
		},
		{
			window:       defaultWindow,
			Name:         "huggingface-token",
			Description:  "Hugging Face user access token (hf_) or organization API token (api_org_)",
			Keywords:     []string{"hf_", "api_org_"},
			MustMatch:    []string{"HF_TOKEN=hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH", "api_org_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"},
			MustNotMatch: []string{"hf_hub_download", "HF_TOKEN=${HF_TOKEN}", "hf_" + "transfer_enabled"},
			patterns:     []pattern{newPattern(`\b(?:hf|api_org)_[A-Za-z0-9]{34,}\b`, nil)},
		},
		{
			window:       defaultWindow,
			Name:         "anthropic-api-key",
			Description:  "Anthropic API or admin key (sk-ant-)",
			Keywords:     []string{"sk-ant-"},
			MustMatch:    []string{"sk-ant-api03-" + strings.Repeat("aB3dE5gH7j", 9) + "AA"},
			MustNotMatch: []string{"sk-ant-api03-short"},
			patterns:     []pattern{newPattern(`\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}`, nil)},
		},
		{
			window:      defaultWindow,
			Name:        "openai-api-key",
			Description: "OpenAI API key: legacy sk-, project sk-proj-, service-account sk-svcacct-, admin sk-admin-",
			Keywords:    []string{"sk-"},
			MustMatch: []string{
				"OPENAI_API_KEY=sk-proj-" + strings.Repeat("aB3dE5gH7j", 5),
				"sk-" + "aB3dE5gH7jK9mN2pQ4rST3BlbkFJaB3dE5gH7jK9mN2pQ4r",
				"sk-" + strings.Repeat("aB3dE5gH7j", 5),
			},
			MustNotMatch: []string{"sk-proj-short", "task-1234567890", "risk-assessment", "sk-ant-api03-abc"},
			patterns:     []pattern{newPattern(`\bsk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{40,})\b`, nil)},
		},
		{
			window:       defaultWindow,
			Name:         "stripe-key",
			Description:  "Stripe secret or restricted key (sk_live_, rk_live_, and test/prod variants)",
			Keywords:     []string{"sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_"},
			MustMatch:    []string{"stripe.api_key = 'sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc'", "rk_live_" + "51H8x2kLmNoPqRsTuV"},
			MustNotMatch: []string{"sk_live_", "pk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"},
			patterns:     []pattern{newPattern(`\b[sr]k_(?:live|test|prod)_[0-9A-Za-z]{10,99}\b`, nil)},
		},
		prefixed("npm-token", "npm access token", []string{"npm_"}, `npm_[A-Za-z0-9]{36}`, "//registry.npmjs.org/:_authToken=npm_"+fakeGH36, "npm_config_cache"),
		{
			window:       defaultWindow,
			Name:         "pypi-token",
			Description:  "PyPI or TestPyPI upload token (pypi-AgEIcHlwaS5vcmc...)",
			Keywords:     []string{"pypi-ag"},
			MustMatch:    []string{"password = pypi-AgEIcHlwaS5vcmc" + strings.Repeat("aB3dE5gH7j", 6)},
			MustNotMatch: []string{"pypi-AgEIcHlwaS5vcmc", "pip install pypi-simple"},
			patterns:     []pattern{newPattern(`pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}`, nil)},
		},
		{
			window:       defaultWindow,
			Name:         "jwt",
			Description:  "JSON Web Token (header.payload.signature, both base64url JSON objects); unsigned tokens too",
			Keywords:     []string{"eyj"},
			MustMatch:    []string{"token: " + fakeJWT, fakeJWT[:strings.LastIndex(fakeJWT, ".")+1]},
			MustNotMatch: []string{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJ.eyJ.sig"},
			patterns:     []pattern{newPattern(`\beyJ[A-Za-z0-9_\-]{10,}={0,2}\.eyJ[A-Za-z0-9_\-]{10,}={0,2}\.[A-Za-z0-9_\-]*={0,2}`, nil)},
		},
	}
}

// prefixed builds a detector for a token recognised by a fixed prefix and a
// character run, bounded by word boundaries.
func prefixed(name, desc string, keywords []string, expr, match, noMatch string) Detector {
	return Detector{
		Name:         name,
		Description:  desc,
		Keywords:     keywords,
		MustMatch:    []string{match, "token: \"" + match + "\""},
		MustNotMatch: []string{noMatch},
		patterns:     []pattern{newPattern(`\b`+expr+`\b`, nil)},
		window:       defaultWindow,
	}
}
