/** Typed arrays that grow by doubling: compact columns for events kept across segments. */

export class GrowingF64 {
  #data: Float64Array = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = value;
  }

  at(index: number): number {
    return this.#data[index] as number;
  }

  /** The filled part (a view: valid until the next push). */
  view(): Float64Array {
    return this.#data.subarray(0, this.length);
  }

  replace(values: Float64Array): void {
    this.#data = values.length > 0 ? values : new Float64Array(1024);
    this.length = values.length;
  }
}

export class GrowingI32 {
  #data: Int32Array = new Int32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const next = new Int32Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = value;
  }

  view(): Int32Array {
    return this.#data.subarray(0, this.length);
  }

  replace(values: Int32Array): void {
    this.#data = values.length > 0 ? values : new Int32Array(1024);
    this.length = values.length;
  }
}
