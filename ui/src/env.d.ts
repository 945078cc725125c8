// Module declarations for non-code imports bundled by esbuild.
declare module '*.css';
