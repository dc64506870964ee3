// Display names in DICOM PN form (Family^Given^Middle^Prefix^Suffix), as the SR and SEG write them.
import { describe, expect, it } from 'vitest';
import { personName } from './study-info';

describe('personName', () => {
  it.each([
    ['Dr. Ada Rad', 'Rad^Ada^^Dr.'],
    ['Ada Rad', 'Rad^Ada'],
    ['Prof. Dr. Jean Luc Picard MD', 'Picard^Jean^Luc^Prof. Dr.^MD'],
    ['Reader, Ada', 'Reader^Ada'],
    ['DEMO, GLIOMA', 'DEMO^GLIOMA'],
    ['Doe^John', 'Doe^John'],
    ['Cher', 'Cher'],
    ['  Müller   Jörg ', 'Jörg^Müller'],
    ['', ''],
  ])('%j -> %j', (display, pn) => {
    expect(personName(display)).toBe(pn);
  });
});
