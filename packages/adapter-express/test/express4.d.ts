// express4 is npm:express@4: the calls the tests make have the same shape in 4 and 5.
declare module 'express4' {
  import express from 'express';
  export default express;
}
