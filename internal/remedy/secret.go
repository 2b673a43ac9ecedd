package remedy

import (
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// secretKind is a family of credential with its own revocation steps.
type secretKind struct {
	// match lists substrings of the lower-cased rule id and title.
	match  []string
	label  string
	revoke []string
	verify string
}

// secretKinds is checked in order; the first match wins, so specific
// detectors come before the generic ones.
var secretKinds = []secretKind{
	{
		match: []string{"aws"}, label: "AWS access key",
		revoke: []string{
			"Deactivate the access key at once in IAM (aws iam update-access-key --status Inactive for the key's user), create a replacement key, deploy it, then delete the old key (aws iam delete-access-key).",
			"Review CloudTrail for calls made with the leaked key since it was committed, and check for resources or IAM users you did not create.",
		},
		verify: "Confirm the old key is rejected: aws sts get-caller-identity with it must fail.",
	},
	{
		match: []string{"github", "ghp_", "gho_", "ghs_", "github-pat", "github-app"}, label: "GitHub token",
		revoke: []string{
			"Revoke the token at GitHub (Settings, Developer settings, the token's page; an app's token by rotating the app's credentials) and issue a new one with the least scopes needed.",
			"Review the security log of the token's owner (and the organization's audit log) for activity since the leak.",
		},
		verify: "Confirm the old token is rejected: an authenticated API call with it must answer 401.",
	},
	{
		match: []string{"gitlab"}, label: "GitLab token",
		revoke: []string{
			"Revoke the token in GitLab (the user's, project's or group's access tokens page) and create a new one with the least scopes needed.",
			"Review GitLab's audit events for use of the token since the leak.",
		},
		verify: "Confirm the old token is rejected: an API call with it must answer 401.",
	},
	{
		match: []string{"slack"}, label: "Slack token or webhook",
		revoke: []string{
			"Revoke the token or regenerate the webhook URL in the Slack app's settings, and install the new one.",
			"Review the workspace's access logs for use since the leak.",
		},
		verify: "Confirm the old token or webhook is rejected by Slack.",
	},
	{
		match: []string{"gcp", "google", "service-account", "service_account"}, label: "Google Cloud credential",
		revoke: []string{
			"Delete the leaked service-account key or API key in the Google Cloud console (gcloud iam service-accounts keys delete for a service-account key) and create a new one.",
			"Review Cloud Audit Logs for use of the credential since the leak.",
		},
		verify: "Confirm the old key is rejected by Google Cloud.",
	},
	{
		match: []string{"private-key", "private_key", "privatekey", "rsa", "ssh", "pem", "pkcs"}, label: "private key",
		revoke: []string{
			"Treat the key pair as compromised: generate a new key pair, install the new public key wherever the old one was trusted (authorized_keys, deploy keys, TLS certificates, signing configurations) and remove the old public key there.",
			"If the key backs a certificate, have the certificate revoked by its issuer and a new one issued for the new key.",
		},
		verify: "Confirm the old public key is no longer trusted anywhere it was installed (no authorized_keys entry, deploy key or valid certificate left).",
	},
	{
		match: []string{"password", "passwd", "pwd", "credential", "basic-auth", "connection-string", "jdbc"}, label: "password",
		revoke: []string{
			"Change the password on the system that accepts it (database, service account, admin user), and on every other system where the same password is used.",
			"Review that system's login logs for use of the account since the leak.",
		},
		verify: "Confirm a login with the old password fails.",
	},
}

var genericSecret = secretKind{
	label: "secret",
	revoke: []string{
		"Revoke or rotate the credential at the service that issued it, and deploy the replacement.",
		"Review the service's logs for use of the credential since the leak.",
	},
	verify: "Confirm the old credential is rejected by the service that issued it.",
}

func classifySecret(f *finding.Finding) secretKind {
	var hay []string
	for _, t := range f.Tools {
		hay = append(hay, strings.ToLower(t.RuleID))
	}
	hay = append(hay, strings.ToLower(f.Title), strings.ToLower(f.Properties["rule_description"]))
	text := strings.Join(hay, " ")
	for _, k := range secretKinds {
		for _, m := range k.match {
			if strings.Contains(text, m) {
				return k
			}
		}
	}
	return genericSecret
}

// SecretSteps returns the steps for a leaked secret: revoke and rotate it
// (tailored to the credential's kind when the detector says), purge it from
// history, and prevent it from recurring. The steps never contain the secret
// or the redacted snippet; they name only the file and line.
func SecretSteps(f *finding.Finding) []string {
	if f == nil {
		return []string{}
	}
	k := classifySecret(f)
	loc := where(f)
	steps := []string{
		fmt.Sprintf("Assume the %s committed at %s is compromised: removing it from the code does not make it safe, because it stays in the repository's history and in every clone.", k.label, loc),
	}
	steps = append(steps, k.revoke...)
	steps = append(steps, fmt.Sprintf("Replace the value in %s with a reference to a secret manager or an environment variable injected at run time (a CI secret for pipelines), and commit that change.", loc))
	if p := finding.CleanPath(f.Location.Path); p != "" {
		steps = append(steps,
			fmt.Sprintf("Purge the value from history with git filter-repo: --replace-text with a file kept outside the repository that lists the value, or, when %s holds nothing but secrets, git filter-repo --invert-paths --path %s. BFG Repo-Cleaner (--replace-text, --delete-files) does the same.", p, p))
	} else {
		steps = append(steps, "Purge the value from history with git filter-repo --replace-text, using a file kept outside the repository that lists the value (BFG Repo-Cleaner's --replace-text does the same).")
	}
	steps = append(steps,
		"Force-push the rewritten branches and tags, have collaborators re-clone, and ask the hosting service to drop cached views and pull-request refs that still hold the old commits.",
		"Prevent recurrence: run gitleaks as a pre-commit hook (the pre-commit framework's gitleaks hook) and in CI on every push, and keep credentials only in a secret manager.",
	)
	return steps
}

func secretVerification(f *finding.Finding) []string {
	k := classifySecret(f)
	if strings.EqualFold(toolName(f), "gitleaks") {
		return []string{k.verify, "Re-run gitleaks git over the full history and confirm the finding is gone."}
	}
	return []string{k.verify, rescan(f), "Scan the full history too (gitleaks git) to confirm the purge removed every copy."}
}
