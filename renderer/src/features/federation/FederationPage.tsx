// The Federation page (placeholder while the page is built).
export function FederationPage() {
  return <section aria-label="Federation"><h1>Federation</h1></section>;
}
