// Image file headers read without decoding (size checks before any allocation).
export { readPngHeader, type PngHeader } from './png-header';
