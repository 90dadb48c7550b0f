/** Jest runs under `npm test`, which provides the stack through TEST_* variables. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // jose 6 ships only ESM; jest's module system needs it transformed.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
  // Workers and servers are closed in afterAll; this only reports stragglers.
  openHandlesTimeout: 2_000,
};
