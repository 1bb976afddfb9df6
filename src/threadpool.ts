// Imported first by main.ts, before anything can start asynchronous I/O: libuv sizes its
// thread pool on first use. Every fsync (queue, Maildir), file read and password hash runs
// on it; the default 4 threads limited submission to ~100 msg/s over 8 connections, 16
// gave ~138 (bench/smtp-submit). An explicit UV_THREADPOOL_SIZE from the environment wins.
process.env.UV_THREADPOOL_SIZE ??= '16';
export {};
