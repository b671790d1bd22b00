declare module 'dcmjs'
