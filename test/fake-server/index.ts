export * from './server';
export { makePng } from './png';
