// Types for the example Worker, so the tests that import it type-check.
declare const worker: {
  email(message: unknown, env: { INGEST_URL: string; INGEST_TOKEN: string }): Promise<void>;
};
export default worker;
