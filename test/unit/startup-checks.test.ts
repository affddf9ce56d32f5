import { describe, expect, test } from "@jest/globals";
import { MIN_WEBHOOK_SECRET_LENGTH, webhookSecretProblem } from "../../src/server/startup-checks.js";

describe("webhookSecretProblem", () => {
  test("APP_ID set and no WEBHOOK_SECRET (or an empty / blank one): refused, naming the variable and what is needed", () => {
    for (const secret of [undefined, "", "   "]) {
      const p = webhookSecretProblem({ APP_ID: "123", WEBHOOK_SECRET: secret });
      expect(p).toMatch(/^WEBHOOK_SECRET is not set \(APP_ID is\)/);
      expect(p).toContain(`at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`);
      expect(p).toContain("anyone could forge");
    }
  });

  test("a secret shorter than 16 characters is refused (Probot's own default among them), without echoing it", () => {
    for (const secret of ["development", "s3cr3t!", "0123456789abcde"]) {
      const p = webhookSecretProblem({ APP_ID: "123", WEBHOOK_SECRET: secret });
      expect(p).toMatch(
        new RegExp(
          `^WEBHOOK_SECRET is too short \\(${secret.length} characters; at least 16 are required\\)`,
        ),
      );
      expect(p).not.toContain(secret);
    }
  });

  test("16 characters or more: fine", () => {
    expect(webhookSecretProblem({ APP_ID: "123", WEBHOOK_SECRET: "0123456789abcdef" })).toBeNull();
    expect(webhookSecretProblem({ APP_ID: "123", WEBHOOK_SECRET: "a".repeat(64) })).toBeNull();
  });

  test("without APP_ID (Probot's setup flow) nothing is required", () => {
    expect(webhookSecretProblem({})).toBeNull();
    expect(webhookSecretProblem({ APP_ID: "", WEBHOOK_SECRET: undefined })).toBeNull();
    expect(webhookSecretProblem({ APP_ID: "  " })).toBeNull();
  });
});
