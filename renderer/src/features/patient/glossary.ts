// Words radiologists often write in brain MRI reports, explained in plain language for the
// patient's results page. Only the entries whose words appear in a report are shown with it.

export interface GlossaryEntry {
  term: string;
  /** Lower-case forms that count as this term in a report (whole words). */
  forms: readonly string[];
  plain: string;
}

export const GLOSSARY: readonly GlossaryEntry[] = [
  { term: 'Lesion', forms: ['lesion', 'lesions'], plain: 'An area that looks different from the tissue around it. It is a description, not a diagnosis: many lesions are harmless.' },
  { term: 'Mass', forms: ['mass', 'masses'], plain: 'A lump or growth of tissue that can be seen on the scan.' },
  { term: 'Tumor', forms: ['tumor', 'tumors', 'tumour', 'tumours', 'neoplasm'], plain: 'A growth of cells. It can be benign (not cancer) or malignant (cancer).' },
  { term: 'Benign', forms: ['benign'], plain: 'Not cancer: it does not spread to other parts of the body.' },
  { term: 'Malignant', forms: ['malignant'], plain: 'Cancer: it can grow into nearby tissue or spread.' },
  { term: 'Glioma', forms: ['glioma', 'gliomas'], plain: 'A growth that starts in the glial cells, which support the nerve cells of the brain.' },
  { term: 'Meningioma', forms: ['meningioma', 'meningiomas'], plain: 'A growth of the meninges, the thin layers that cover the brain. Most grow slowly and are not cancer.' },
  { term: 'Pituitary', forms: ['pituitary', 'adenoma'], plain: 'The pituitary is a small gland at the base of the brain that makes hormones; an adenoma is a usually benign growth of a gland.' },
  { term: 'Enhancement', forms: ['enhancement', 'enhancing', 'enhances', 'enhance'], plain: 'The area took up the contrast dye given during the scan, so it shows brighter. It describes the blood supply, not a diagnosis on its own.' },
  { term: 'Contrast', forms: ['contrast', 'gadolinium'], plain: 'A dye injected into a vein during the scan that makes some tissues show up more clearly.' },
  { term: 'Oedema', forms: ['oedema', 'edema', 'swelling'], plain: 'Swelling caused by extra fluid in the tissue.' },
  { term: 'Mass effect', forms: ['mass effect'], plain: 'A growth or swelling is pressing on the brain tissue around it.' },
  { term: 'Midline shift', forms: ['midline shift', 'midline'], plain: 'The middle line of the brain is pushed to one side, usually by swelling or a growth.' },
  { term: 'Hemisphere', forms: ['hemisphere', 'hemispheres'], plain: 'One half (left or right) of the brain.' },
  { term: 'Frontal, parietal, temporal, occipital', forms: ['frontal', 'parietal', 'temporal', 'occipital'], plain: 'The lobes (large areas) of the brain: frontal at the front, parietal at the top, temporal at the sides, occipital at the back.' },
  { term: 'Cerebellum', forms: ['cerebellum', 'cerebellar'], plain: 'The back lower part of the brain that helps with balance and movement.' },
  { term: 'Ventricles', forms: ['ventricle', 'ventricles', 'ventricular'], plain: 'Spaces inside the brain filled with the fluid that surrounds the brain and spinal cord.' },
  { term: 'T1, T2 and FLAIR', forms: ['t1', 't2', 'flair', 't1-weighted', 't2-weighted'], plain: 'Kinds of MRI pictures taken in one scan; each shows tissues and fluid with a different brightness.' },
  { term: 'Axial, sagittal, coronal', forms: ['axial', 'sagittal', 'coronal'], plain: 'The direction of the slices: from below (axial), from the side (sagittal) or from the front (coronal).' },
  { term: 'Unremarkable', forms: ['unremarkable'], plain: 'Normal: nothing of concern was seen.' },
  { term: 'Follow-up', forms: ['follow-up', 'follow up', 'followup'], plain: 'Another appointment or scan later, to see whether anything changes.' },
  { term: 'Biopsy', forms: ['biopsy'], plain: 'Taking a small sample of tissue to look at under a microscope.' },
];

/** The entries whose words occur in `text` (whole words, any case), in glossary order. */
export function termsIn(text: string): GlossaryEntry[] {
  const t = ` ${text.toLowerCase().replace(/[^a-z0-9-]+/g, ' ')} `;
  return GLOSSARY.filter((e) => e.forms.some((f) => t.includes(` ${f} `)));
}
