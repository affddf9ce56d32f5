/** jest 30 + ts-jest in ESM mode; run through `npm test` (node --experimental-vm-modules). */
export default {
  // jest's node environment; at teardown it disposes the HTTP interceptors (nock) a file applied.
  testEnvironment: "<rootDir>/test/support/environment.cjs",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json", diagnostics: false }],
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  testTimeout: 30000,
  // The PostgreSQL suites run whenever PostgreSQL is installed; otherwise the run ends saying so.
  globalSetup: "<rootDir>/test/support/pg-setup.mjs",
  globalTeardown: "<rootDir>/test/support/pg-teardown.mjs",
};
