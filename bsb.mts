import { benchSbom } from './bench/sbom.ts';
console.log(JSON.stringify(await benchSbom(Number(process.argv[2] ?? 10000)), null, 1));
