/** A number list in a typed array that doubles as it grows: millions of samples without an object each. */
export class GrowableFloat64 {
  #data = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  /** A view of the values pushed so far (shares memory). */
  view(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}
